using MixFit.Optimizers;
using MixFit.Applications;
using MixFit.Precision;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Checkpoints;

public sealed class WeightsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-w-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static Trainer Compiled(string policy, int classes = 10)
    {
        var trainer = new Trainer(SmallCnn.Create(classes), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Parse(policy) });
        return trainer;
    }

    [Theory]
    [InlineData("weights.safetensors")]
    [InlineData("weights.dat")]
    public void Mixed_weights_save_as_float32_and_load_into_a_float32_model(string file)
    {
        string path = Path.Combine(dir, file);
        using var mixed = Compiled("mixed_bfloat16");
        mixed.SaveWeights(path);
        using var plain = Compiled("float32");
        plain.LoadWeights(path);
        var expected = mixed.GetWeights();
        foreach (var (name, value) in plain.GetWeights())
        {
            Assert.True(value.dtype == ScalarType.Float32 || !value.is_floating_point(), $"{name} is {value.dtype}");
            Assert.True(value.Equals(expected[name]), name);
        }
    }

    [Fact]
    public void Weights_in_torchsharp_format_load_with_module_load_and_back()
    {
        string path = Path.Combine(dir, "w.dat");
        using var mixed = Compiled("mixed_float16");
        mixed.SaveWeights(path);
        var module = SmallCnn.Create();
        module.load(path);
        Assert.True(module.state_dict()["fc2.weight"].Equals(mixed.GetWeights()["fc2.weight"]));

        string saved = Path.Combine(dir, "module.dat");
        module.save(saved);
        using var other = Compiled("float32");
        other.LoadWeights(saved);
        Assert.True(other.GetWeights()["conv1.weight"].Equals(module.state_dict()["conv1.weight"]));
    }

    [Fact]
    public void Loading_mismatched_weights_lists_every_problem_by_name()
    {
        string path = Path.Combine(dir, "five.safetensors");
        using var five = Compiled("float32", classes: 5);
        five.SaveWeights(path);
        using var ten = Compiled("float32");
        var e = Assert.Throws<InvalidDataException>(() => ten.LoadWeights(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("shape mismatch: fc2.weight is [5,128] in the source, the model expects [10,128]", e.Message);
        Assert.Contains("shape mismatch: fc2.bias", e.Message);
    }

    [Fact]
    public void A_checkpoint_without_loss_scaling_starts_a_scaled_run_at_the_initial_scale()
    {
        // tf-keras' testCheckpoint: an unscaled checkpoint meets a loss-scale optimizer.
        var (x, y) = MixFit.Tests.Support.TinyProblems.FashionMnist(32);
        string path = Path.Combine(dir, "plain.ckpt");
        using var plain = Compiled("mixed_bfloat16");
        plain.Fit(x, y, new FitOptions { BatchSize = 16, Verbose = 0 });
        plain.SaveCheckpoint(path, epoch: 0);

        using var scaled = new Trainer(SmallCnn.Create(), CPU);
        scaled.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, LossScale = LossScaleOptions.Dynamic(initialScale: 1024, growthInterval: 1) });
        scaled.Fit(x, y, new FitOptions { BatchSize = 16, Verbose = 0 });
        Assert.Equal(4096, scaled.Precision.GetLossScale());       // grown by the two steps
        var info = scaled.LoadCheckpoint(path);
        Assert.Null(info.LossScaler);
        Assert.Equal(1024, scaled.Precision.GetLossScale());
        Assert.True(plain.GetWeights()["fc2.weight"].Equals(scaled.GetWeights()["fc2.weight"]));
    }

    [Fact]
    public void A_scaled_checkpoint_loaded_into_an_unscaled_run_keeps_the_optimizers_step_count()
    {
        var (x, y) = MixFit.Tests.Support.TinyProblems.FashionMnist(48);
        string path = Path.Combine(dir, "scaled.ckpt");
        using var scaled = Compiled("mixed_float16");
        scaled.Fit(x, y, new FitOptions { BatchSize = 16, Verbose = 0 });
        scaled.SaveCheckpoint(path, epoch: 0);
        using var plain = Compiled("mixed_bfloat16");
        plain.LoadCheckpoint(path);
        Assert.Equal(3f, plain.Optimizer!.StateDict()["0.step"].item<float>());
        Assert.Equal(LossScaleMode.None, plain.Precision.LossScaleMode);
    }

    [Fact]
    public void Loading_a_checkpoint_is_all_or_nothing()
    {
        // The weights fit, the optimizer state does not (saved from SGD with momentum, loaded into Adam): nothing changes.
        var (x, y) = MixFit.Tests.Support.TinyProblems.FashionMnist(32);
        string path = Path.Combine(dir, "sgd.ckpt");
        using var sgd = new Trainer(SmallCnn.Create(), CPU);
        sgd.Compile(new CompileOptions { Policy = DTypePolicy.Float32, Optimizer = new OptimizerConfig { Name = "sgd", Momentum = 0.9, LearningRate = 0.1 } });
        sgd.Fit(x, y, new FitOptions { BatchSize = 16, Verbose = 0 });
        sgd.SaveCheckpoint(path, epoch: 0);

        using var adam = Compiled("float32");
        var before = adam.GetWeights();
        var e = Assert.Throws<InvalidDataException>(() => adam.LoadCheckpoint(path));
        Assert.Contains("optimizer state", e.Message);
        Assert.All(adam.GetWeights(), kv => Assert.True(kv.Value.Equals(before[kv.Key]), $"{kv.Key} changed by a failed load"));
    }

    [Fact]
    public void A_checkpoint_restores_weights_optimizer_state_and_the_epoch()
    {
        string path = Path.Combine(dir, "full.ckpt");
        var (x, y) = MixFit.Tests.Support.TinyProblems.FashionMnist(32);
        using var first = Compiled("mixed_float16");
        first.Fit(x, y, new FitOptions { BatchSize = 16, Verbose = 0 });
        first.SaveCheckpoint(path, epoch: 4);

        using var second = Compiled("mixed_float16");
        var info = second.LoadCheckpoint(path);
        Assert.Equal(4, info.Epoch);
        Assert.Equal("mixed_float16", info.Policy);
        Assert.Equal(first.Precision.Scaler.GetState(), info.LossScaler);
        Assert.Equal(first.Precision.Scaler.GetScale(), second.Precision.Scaler.GetScale());
        foreach (var (name, value) in first.Optimizer!.StateDict())
        {
            Assert.True(value.Equals(second.Optimizer!.StateDict()[name]), name);
        }

        Assert.True(first.GetWeights()["fc1.weight"].Equals(second.GetWeights()["fc1.weight"]));
    }
}
