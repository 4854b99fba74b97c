using MixFit.Applications;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;

namespace MixFit.Tests.Checkpoints;

/// <summary>
/// tf-keras keeps <c>optimizer.iterations</c> across a checkpoint whether or not the loss is scaled: the count is the
/// strategy's, saved and restored in all four combinations of a scaled and an unscaled save and restore.
/// </summary>
public sealed class IterationCountTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-iterations-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    public static TheoryData<string, string> SaveAndRestore => new()
    {
        { "mixed_float16", "mixed_float16" },   // scaled -> scaled
        { "mixed_float16", "float32" },         // scaled -> unscaled
        { "float32", "mixed_float16" },         // unscaled -> scaled
        { "mixed_bfloat16", "float32" },        // unscaled -> unscaled
    };

    private static Trainer Compiled(string policy)
    {
        var trainer = new Trainer(SmallCnn.Create(), TorchSharp.torch.CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Parse(policy) });
        return trainer;
    }

    [Theory]
    [MemberData(nameof(SaveAndRestore))]
    public void The_iteration_count_survives_a_checkpoint_with_or_without_loss_scaling_on_either_side(string saved, string restored)
    {
        var (x, y) = TinyProblems.FashionMnist(96);
        string path = Path.Combine(dir, "last.ckpt.safetensors");
        using (var first = Compiled(saved))
        {
            first.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 32, Shuffle = false, Verbose = 0 });
            Assert.Equal(3, first.Precision.Iterations);
            Assert.Equal(3, first.Precision.GetState().Iterations);
            first.SaveCheckpoint(path, epoch: 1);
        }

        using var second = Compiled(restored);
        Assert.Equal(0, second.Precision.Iterations);
        second.LoadCheckpoint(path);
        Assert.Equal(3, second.Precision.Iterations);
        Assert.Equal(3, second.Precision.GetState().Iterations);

        // And it goes on counting from there.
        second.Fit(x, y, new FitOptions { Epochs = 2, InitialEpoch = 1, BatchSize = 32, Shuffle = false, Verbose = 0 });
        Assert.Equal(6, second.Precision.Iterations);
    }
}
