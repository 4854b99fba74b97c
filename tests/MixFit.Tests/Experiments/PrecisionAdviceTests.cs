using MixFit.Experiments;
using MixFit.Precision;
using MixFit.Training;

namespace MixFit.Tests.Experiments;

/// <summary>The two decisions made from measured training steps, on injected measurements.</summary>
public class PrecisionAdviceTests
{
    private static StepTiming T(DTypePolicy policy, double ms, int timed = 5) => new(policy, ms, timed, ms);

    [Fact]
    public void Compare_trains_a_policy_up_to_the_limit_and_skips_it_beyond_saying_how_to_override()
    {
        var timings = new[] { T(DTypePolicy.Float32, 40), T(DTypePolicy.MixedBFloat16, 20), T(DTypePolicy.MixedFloat16, 121, timed: 1) };
        var decisions = PrecisionAdvice.Decide(timings);
        Assert.Equal(new[] { true, true, false }, decisions.Select(d => d.Run));
        Assert.Equal(2.0, decisions[1].SpeedUp);
        Assert.Equal("2.00x float32's speed", decisions[1].Reason);
        Assert.Equal("3.0x slower than float32 here (limit 3x: --max-slowdown N or --force to train it anyway)", decisions[2].Reason);

        // Exactly at the limit still trains; a higher limit trains the slow one too.
        Assert.True(PrecisionAdvice.Decide(new[] { T(DTypePolicy.Float32, 40), T(DTypePolicy.MixedFloat16, 120) })[1].Run);
        Assert.All(PrecisionAdvice.Decide(timings, maxSlowdown: 4), d => Assert.True(d.Run));
        Assert.Throws<ArgumentOutOfRangeException>(() => PrecisionAdvice.Decide(timings, maxSlowdown: 0.5));
    }

    [Fact]
    public void Without_a_float32_step_nothing_is_skipped()
    {
        var decisions = PrecisionAdvice.Decide(new[] { T(DTypePolicy.MixedFloat16, 9000) });
        Assert.True(decisions.Single().Run);
        Assert.Null(decisions.Single().SpeedUp);
    }

    [Fact]
    public void Doctor_recommends_float32_where_half_precision_is_slower_or_barely_faster()
    {
        var slower = new Dictionary<string, IReadOnlyList<StepTiming>>
        {
            ["small-cnn"] = new[] { T(DTypePolicy.Float32, 110), T(DTypePolicy.MixedBFloat16, 130), T(DTypePolicy.MixedFloat16, 7400, timed: 1) },
        };
        var (policy, reason) = PrecisionAdvice.Recommend(slower);
        Assert.Equal(DTypePolicy.Float32, policy);
        Assert.Contains("would only slow training down", reason);
        Assert.Contains("mixed_bfloat16 0.85x", reason);

        var barely = new Dictionary<string, IReadOnlyList<StepTiming>> { ["small-cnn"] = new[] { T(DTypePolicy.Float32, 100), T(DTypePolicy.MixedBFloat16, 97) } };
        Assert.Equal(DTypePolicy.Float32, PrecisionAdvice.Recommend(barely).Policy);
    }

    [Fact]
    public void Doctor_recommends_the_faster_mixed_policy_citing_the_measured_steps_and_prefers_bfloat16_when_close()
    {
        var workloads = new Dictionary<string, IReadOnlyList<StepTiming>>
        {
            ["small-cnn 28x28"] = new[] { T(DTypePolicy.Float32, 40), T(DTypePolicy.MixedBFloat16, 20), T(DTypePolicy.MixedFloat16, 400, timed: 1) },
            ["resnet18 64x64"] = new[] { T(DTypePolicy.Float32, 1000), T(DTypePolicy.MixedBFloat16, 500) },
        };
        var (policy, reason) = PrecisionAdvice.Recommend(workloads);
        Assert.Equal(DTypePolicy.MixedBFloat16, policy);
        Assert.Equal("it trains 2.00x faster than float32 here and needs no loss scaling (small-cnn 28x28: 20.0 vs 40.0 ms/step (2.00x); resnet18 64x64: 500.0 vs 1000.0 ms/step (2.00x))", reason);

        // A GPU-like machine: float16 a little faster than bfloat16 -> bfloat16 still (no loss scaling); much faster -> float16.
        var close = new Dictionary<string, IReadOnlyList<StepTiming>> { ["resnet50"] = new[] { T(DTypePolicy.Float32, 300), T(DTypePolicy.MixedBFloat16, 105), T(DTypePolicy.MixedFloat16, 102) } };
        Assert.Equal(DTypePolicy.MixedBFloat16, PrecisionAdvice.Recommend(close).Policy);
        var far = new Dictionary<string, IReadOnlyList<StepTiming>> { ["resnet50"] = new[] { T(DTypePolicy.Float32, 300), T(DTypePolicy.MixedBFloat16, 200), T(DTypePolicy.MixedFloat16, 100) } };
        var fp16 = PrecisionAdvice.Recommend(far);
        Assert.Equal(DTypePolicy.MixedFloat16, fp16.Policy);
        Assert.Contains("dynamic loss scaling", fp16.Reason);
    }

    [Fact]
    public void A_policy_not_measured_on_every_workload_is_not_recommended()
    {
        var workloads = new Dictionary<string, IReadOnlyList<StepTiming>>
        {
            ["small-cnn"] = new[] { T(DTypePolicy.Float32, 40), T(DTypePolicy.MixedFloat16, 30) },
            ["resnet18"] = new[] { T(DTypePolicy.Float32, 1000) },
        };
        Assert.Equal(DTypePolicy.Float32, PrecisionAdvice.Recommend(workloads).Policy);
    }
}
