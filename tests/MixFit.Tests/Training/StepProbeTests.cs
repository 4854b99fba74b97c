using MixFit.Data;
using MixFit.Precision;
using MixFit.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Tests.Training;

/// <summary>The probe times real training steps, and its time box cuts a far slower policy short.</summary>
public class StepProbeTests
{
    /// <summary>A linear model that counts its forward calls and can be made slow.</summary>
    private sealed class Counting : nn.Module<Tensor, Tensor>
    {
        private readonly Linear linear;

        public Counting(int sleepMs = 0)
            : base(nameof(Counting))
        {
            linear = nn.Linear(3, 1);
            SleepMs = sleepMs;
            RegisterComponents();
        }

        public int Forwards { get; private set; }

        public int SleepMs { get; }

        public Parameter Bias => linear.bias!;

        public override Tensor forward(Tensor input)
        {
            Forwards++;
            if (SleepMs > 0)
            {
                Thread.Sleep(SleepMs);
            }

            return linear.forward(input);
        }
    }

    private static IBatchSource Data()
    {
        // Targets far below any output: MAE's gradient for the bias is exactly 1 at every step.
        var x = ones(64, 3);
        var y = full(new long[] { 64, 1 }, -1000f);
        return new TensorBatchSource(x, y, batchSize: 8);
    }

    [Fact]
    public void The_probe_runs_real_forward_backward_and_optimizer_steps()
    {
        manual_seed(1);
        var model = new Counting();
        using var trainer = new Trainer(model, CPU);
        trainer.Compile(new CompileOptions { Loss = "mae", Policy = DTypePolicy.Float32, Optimizer = new MixFit.Optimizers.OptimizerConfig { Name = "sgd", LearningRate = 0.01 } });
        float bias = model.Bias.item<float>();
        var timing = StepProbe.Measure(trainer, Data(), new StepProbeOptions { MaxTimedSteps = 4, SecondsPerPolicy = 60 });

        Assert.Equal(4, timing.TimedSteps);
        Assert.Equal(5, model.Forwards);                                     // the warm-up and 4 timed steps
        Assert.Equal(bias - (5 * 0.01f), model.Bias.item<float>(), 5);     // each followed by a backward and an SGD step
        Assert.True(timing.MsPerStep > 0 && timing.WarmupMs > 0);
        Assert.Equal(DTypePolicy.Float32, timing.Policy);
    }

    [Fact]
    public void A_policy_far_slower_than_the_baseline_is_judged_from_one_timed_step()
    {
        var model = new Counting(sleepMs: 60);
        using var trainer = new Trainer(model, CPU);
        trainer.Compile(new CompileOptions { Loss = "mae", Policy = DTypePolicy.MixedBFloat16 });
        var timing = StepProbe.Measure(trainer, Data(), new StepProbeOptions { MaxTimedSteps = 5, SecondsPerPolicy = 60, FarSlower = 3 }, baselineMs: 5);
        Assert.Equal(1, timing.TimedSteps);
        Assert.True(timing.JudgedEarly);
        Assert.Equal(2, model.Forwards);
        Assert.True(timing.MsPerStep >= 60, $"{timing.MsPerStep} ms");
    }

    [Fact]
    public void The_time_box_rules_on_injected_step_times()
    {
        var options = new StepProbeOptions { MaxTimedSteps = 5, SecondsPerPolicy = 1, FarSlower = 3, FarSlowerWarmup = 10 };
        Assert.False(StepProbe.ShouldStop(new[] { 900.0 }, options, baselineMs: 50));         // slow warm-up, but under a second
        Assert.True(StepProbe.ShouldStop(new[] { 2500.0 }, options, baselineMs: 50));         // 50x the baseline, over a second
        Assert.False(StepProbe.ShouldStop(new[] { 2500.0 }, options, baselineMs: null));      // the baseline itself is never cut
        Assert.True(StepProbe.ShouldStop(new[] { 60.0, 200.0 }, options, baselineMs: 50));    // first timed step 4x the baseline
        Assert.False(StepProbe.ShouldStop(new[] { 60.0, 140.0 }, options, baselineMs: 50));   // 2.8x: keep timing
        Assert.True(StepProbe.ShouldStop(new[] { 60.0, 400.0, 400.0, 300.0 }, options, baselineMs: null)); // a second of timed steps
    }
}
