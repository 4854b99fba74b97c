using MixFit.Kernels;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Kernels;

/// <summary>Device-to-host reads, counted where MixFit makes them: what "no sync in the step path" means, proven.</summary>
public class HostReadsTests
{
    private static long ReadsOf(Action action)
    {
        long before = HostReads.Count;
        action();
        return HostReads.Count - before;
    }

    [Theory]
    [InlineData(AmpKernelPreference.Fused, true)]
    [InlineData(AmpKernelPreference.Managed, false)]
    public void A_loss_scaled_mixed_float16_step_reads_nothing_back_with_fused_kernels(AmpKernelPreference kernels, bool fused)
    {
        manual_seed(1);
        var model = nn.Sequential(("fc1", nn.Linear(8, 16)), ("relu", nn.ReLU()), ("fc2", nn.Linear(16, 4)));
        using var precision = PrecisionStrategy.Create(DTypePolicy.MixedFloat16, new PrecisionOptions { Kernels = kernels });
        using var adam = new Adam(precision.Prepare(model, CPU), fused: fused);
        using var x = randn(32, 8);
        using var y = randint(0, 4, 32);

        long reads = ReadsOf(() =>
        {
            for (int step = 0; step < 3; step++)
            {
                using var scope = NewDisposeScope();
                var logits = precision.ConvertOutput(model.call(precision.ConvertInput(x)));
                precision.Backward(nn.functional.cross_entropy(logits, y));
                precision.Step(adam, new GradientClipping(MaxNorm: 1.0));
                _ = precision.StepLogs();
            }
        });

        if (fused)
        {
            Assert.Equal(0, reads);
        }
        else
        {
            // Managed: the overflow check, the scale update (scale, flag, tracker) and Adam's skip check and step
            // counters each read back: the cost the fused kernels remove.
            Assert.True(reads >= 3 * 5, $"{reads} reads");
        }
    }

    [Fact]
    public void Fit_reads_the_device_once_per_step_for_the_loss_metrics_and_loss_scale_together()
    {
        var (x, y) = TinyProblems.FashionMnist(128);
        using var trainer = new Trainer(TinyProblems.Mlp(3), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, Metrics = new[] { "accuracy", "sparse_top_k_categorical_accuracy" } });
        Assert.True(trainer.Optimizer!.IsFused);
        long reads = ReadsOf(() => trainer.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32, Verbose = 0 }));

        // 2 epochs x 4 steps, one read each; plus the label range check (min and max) at each epoch's first step.
        Assert.Equal((2 * 4) + (2 * 2), reads);
    }
}
