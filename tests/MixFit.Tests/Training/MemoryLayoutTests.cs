using MixFit.Applications;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Training;

public sealed class MemoryLayoutTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-layout-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static Dictionary<string, float[]> Train(bool channelsLast, DTypePolicy policy, out Trainer trainer)
    {
        var (x, y) = TinyProblems.FashionMnist(256);
        manual_seed(5);
        trainer = new Trainer(SmallCnn.Create(), CPU);
        // SGD, not Adam: Adam's normalisation turns the noise-sized gradients of a conv bias before BatchNorm into full steps.
        trainer.Compile(new CompileOptions { Policy = policy, ChannelsLast = channelsLast, Optimizer = new MixFit.Optimizers.OptimizerConfig { Name = "sgd", LearningRate = 0.05 } });
        trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 64, Shuffle = false, Verbose = 0 });
        return trainer.GetWeights().ToDictionary(kv => kv.Key, kv => kv.Value.contiguous().to(ScalarType.Float32).data<float>().ToArray());
    }

    [Theory]
    [InlineData("float32")]
    [InlineData("mixed_bfloat16")]
    public void Channels_last_keeps_4d_weights_nhwc_and_trains_like_the_standard_layout(string policy)
    {
        var standard = Train(false, DTypePolicy.Parse(policy), out var plain);
        var nhwc = Train(true, DTypePolicy.Parse(policy), out var last);
        using (plain)
        using (last)
        {
            var conv = last.Module.state_dict()["conv1.weight"];
            Assert.Equal(new long[] { 32, 1, 3, 3 }, conv.shape);
            Assert.True(MemoryLayout.IsChannelsLast(last.Module.state_dict()["conv2.weight"]), "conv2.weight is stored NHWC");
            Assert.False(MemoryLayout.IsChannelsLast(plain.Module.state_dict()["conv2.weight"]));
            foreach (var (name, values) in standard)
            {
                double scale = values.Max(v => Math.Abs(v));
                double worst = values.Zip(nhwc[name]).Max(p => Math.Abs(p.First - p.Second)) / scale;
                Assert.True(worst < (policy == "float32" ? 1e-4 : 5e-2), $"{name}: relative difference {worst:E2}");   // bfloat16 kernels round differently per layout
            }

            // Checkpoints are written in the standard order and load back into a standard-layout trainer.
            string path = Path.Combine(dir, "nhwc.safetensors");
            last.SaveCheckpoint(path, epoch: 0);
            plain.LoadCheckpoint(path);
            Assert.True(plain.Module.state_dict()["conv2.weight"].allclose(last.Module.state_dict()["conv2.weight"].contiguous()));
        }
    }
}
