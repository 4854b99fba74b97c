using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tests.Support;
using TorchSharp;
using TorchSharp.Modules;
using Adam = MixFit.Optimizers.Adam;
using AdamW = MixFit.Optimizers.AdamW;
using static TorchSharp.torch;

namespace MixFit.Tests.Precision;

public class LossScalerTests
{
    private static Parameter Param(params float[] values) => new(tensor(values));

    /// <summary>One iteration with hand-made gradients (already multiplied by the scale, as backward would produce).</summary>
    private static StepOutcome Iterate(LossScaler scaler, Optimizer optimizer, params float[] scaledGrad)
    {
        scaler.Scale(tensor(1f)).Dispose();
        optimizer.Parameters[0].grad = tensor(scaledGrad);
        var outcome = scaler.Step(optimizer);
        scaler.Update();
        return outcome;
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Keras_four_overflowing_steps_take_400_down_to_25(string kernels)
    {
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 400), KernelCases.Get(kernels));
        using var sgd = new Sgd(new[] { Param(1, 2) }, 1.0, fused: KernelCases.IsFused(kernels));
        for (int i = 0; i < 4; i++)
        {
            Assert.True(Iterate(scaler, sgd, float.PositiveInfinity, float.PositiveInfinity).IsSkipped());
        }

        Assert.Equal(25, scaler.GetScale());
        Assert.Equal(4, scaler.GetSkippedSteps());
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Keras_eight_finite_steps_growing_every_two_take_2_up_to_32(string kernels)
    {
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 2, growthInterval: 2), KernelCases.Get(kernels));
        using var sgd = new Sgd(new[] { Param(1) }, 1e-3, fused: KernelCases.IsFused(kernels));
        var seen = new List<double>();
        for (int i = 0; i < 8; i++)
        {
            Assert.False(Iterate(scaler, sgd, 1).IsSkipped());
            seen.Add(scaler.GetScale());
        }

        Assert.Equal(new double[] { 2, 4, 4, 8, 8, 16, 16, 32 }, seen);
        Assert.Equal(0, scaler.GetSkippedSteps());
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Keras_sgd_applies_unscaled_gradients_and_skips_infinite_ones(string kernels)
    {
        var k = KernelCases.Get(kernels);
        var var = Param(1, 2, 3, 4);
        using var scaler = new LossScaler(kernels: k);
        using var sgd = new Sgd(new[] { var }, 0.5, fused: KernelCases.IsFused(kernels));
        Iterate(scaler, sgd, 1 * 32768f, 6 * 32768f, 7 * 32768f, 2 * 32768f);
        T.Close(new float[] { 0.5f, -1, -0.5f, 3 }, var);

        Iterate(scaler, sgd, float.PositiveInfinity, float.PositiveInfinity, float.PositiveInfinity, float.PositiveInfinity);
        T.Close(new float[] { 0.5f, -1, -0.5f, 3 }, var);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void TfKeras_real_backward_updates_then_a_nan_loss_is_skipped_and_halves_the_scale(string kernels)
    {
        var k = KernelCases.Get(kernels);
        var var = Param(1, 2);
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 2, growthInterval: 1), k);
        using var sgd = new Sgd(new[] { var }, 1.0, fused: KernelCases.IsFused(kernels));

        scaler.Scale((2 * var).sum()).backward();
        scaler.Step(sgd);
        scaler.Update();
        sgd.ClearGradients();
        T.Close(new float[] { -1, 0 }, var);
        Assert.Equal(4, scaler.GetScale());

        scaler.Scale((var * float.NaN).sum()).backward();
        Assert.True(scaler.Step(sgd).IsSkipped());
        scaler.Update();
        T.Close(new float[] { -1, 0 }, var);
        Assert.Equal(2, scaler.GetScale());
    }

    [Theory]
    [InlineData("fused", 2.0, null)]
    [InlineData("fused", null, 2.0)]
    [InlineData("managed", 2.0, null)]
    [InlineData("managed", null, 2.0)]
    public void Clipping_acts_on_unscaled_gradients(string kernels, double? maxNorm, double? maxValue)
    {
        var k = KernelCases.Get(kernels);
        var var = Param(0);
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 1024), k);
        using var sgd = new Sgd(new[] { var }, 1.0, fused: KernelCases.IsFused(kernels));
        scaler.Scale(tensor(1f)).Dispose();
        var.grad = tensor(new[] { 4f * 1024 });
        scaler.Unscale(sgd);
        new GradientClipping(maxNorm, maxValue).Apply(new[] { var.grad! }, k);
        T.Close(new float[] { 2 }, var.grad!, 1e-5);
        scaler.Step(sgd);
        scaler.Update();
        T.Close(new float[] { -2 }, var, 1e-5);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void PyTorch_scale_sequence_with_backoff_one_quarter(string kernels)
    {
        var k = KernelCases.Get(kernels);
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 4, growthFactor: 2, backoffFactor: 0.25, growthInterval: 2), k);
        using var sgd = new Sgd(new[] { Param(1) }, 1e-3, fused: KernelCases.IsFused(kernels));
        Iterate(scaler, sgd, 1);
        Assert.Equal(4, scaler.GetScale());
        Assert.Equal(1, scaler.GetState().GrowthTracker);
        Iterate(scaler, sgd, 1);
        Assert.Equal(8, scaler.GetScale());
        Assert.Equal(0, scaler.GetState().GrowthTracker);
        Iterate(scaler, sgd, float.NaN);
        Assert.Equal(2, scaler.GetScale());
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void PyTorch_an_injected_inf_skips_exactly_that_iteration(string kernels)
    {
        var k = KernelCases.Get(kernels);
        manual_seed(7);
        var x = randn(8, 3);
        var y = randn(8, 1);
        var w0 = randn(1, 3);

        var scaled = new Parameter(w0.clone());
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 128, growthFactor: 2, growthInterval: 1), k);
        using var sgd = new Sgd(new[] { scaled }, 0.1, momentum: 0.9, fused: KernelCases.IsFused(kernels));

        var reference = new Parameter(w0.clone());
        using var refSgd = new Sgd(new[] { reference }, 0.1, momentum: 0.9, fused: KernelCases.IsFused(kernels));

        for (int i = 0; i < 4; i++)
        {
            var loss = (x.matmul(scaled.t()) - y).pow(2).mean();
            if (i == 1)
            {
                loss = loss * float.PositiveInfinity;
            }

            scaler.Scale(loss).backward();
            bool skipped = scaler.Step(sgd).IsSkipped();
            scaler.Update();
            sgd.ClearGradients();
            Assert.Equal(i == 1, skipped);

            if (i != 1)
            {
                (x.matmul(reference.t()) - y).pow(2).mean().backward();
                refSgd.Step();
                refSgd.ClearGradients();
            }
        }

        Assert.Equal(512, scaler.GetScale());
        T.Close(T.Values(reference), scaled, 1e-6);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void PyTorch_growth_never_makes_the_scale_infinite(string kernels)
    {
        var k = KernelCases.Get(kernels);
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 1e38, growthFactor: 16, growthInterval: 1), k);
        using var sgd = new Sgd(new[] { Param(1) }, 1e-3, fused: KernelCases.IsFused(kernels));
        Iterate(scaler, sgd, 1);
        Assert.True(double.IsFinite(scaler.GetScale()));
        Assert.Equal(1e38, scaler.GetScale(), 1e32);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void A_skipped_step_leaves_adam_moments_and_step_counts_untouched(string kernels)
    {
        var k = KernelCases.Get(kernels);
        var p = Param(1, -2, 3);
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 8), k);
        using var adam = new Adam(new[] { p }, 0.1, fused: KernelCases.IsFused(kernels));
        Iterate(scaler, adam, 8, 8, -8);
        var before = adam.StateDict().ToDictionary(kv => kv.Key, kv => T.Values(kv.Value));
        var weightsBefore = T.Values(p);

        Assert.True(Iterate(scaler, adam, 8, float.NaN, 8).IsSkipped());

        foreach (var (name, value) in adam.StateDict().Select(kv => (kv.Key, kv.Value)))
        {
            Assert.Equal(before[name], T.Values(value));
        }

        Assert.Equal(weightsBefore, T.Values(p));
        Assert.Equal(1f, T.Values(adam.StateDict()["0.step"])[0]);
    }

    [Fact]
    public void Unscaling_twice_before_update_is_an_error_naming_the_cause()
    {
        using var scaler = new LossScaler();
        using var sgd = new Sgd(new[] { Param(1) }, 1);
        scaler.Scale(tensor(1f)).Dispose();
        sgd.Parameters[0].grad = tensor(new[] { 1f });
        scaler.Unscale(sgd);
        var e = Assert.Throws<InvalidOperationException>(() => scaler.Unscale(sgd));
        Assert.Contains("twice", e.Message);
    }

    [Fact]
    public void Stepping_twice_or_updating_without_a_step_is_an_error()
    {
        using var scaler = new LossScaler();
        using var sgd = new Sgd(new[] { Param(1) }, 1);
        scaler.Scale(tensor(1f)).Dispose();
        Assert.Throws<InvalidOperationException>(() => scaler.Update());
        sgd.Parameters[0].grad = tensor(new[] { 1f });
        scaler.Step(sgd);
        Assert.Throws<InvalidOperationException>(() => scaler.Step(sgd));
        scaler.Update();
        Assert.Equal(1, scaler.Iterations);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void With_two_optimizers_each_steps_or_skips_and_the_scale_updates_once(string kernels)
    {
        var k = KernelCases.Get(kernels);
        var a = Param(1);
        var b = Param(1);
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 64), k);
        using var first = new Sgd(new[] { a }, 1.0, fused: KernelCases.IsFused(kernels));
        using var second = new Sgd(new[] { b }, 1.0, fused: KernelCases.IsFused(kernels));
        scaler.Scale(tensor(1f)).Dispose();
        a.grad = tensor(new[] { 64f });
        b.grad = tensor(new[] { float.PositiveInfinity });
        Assert.False(scaler.Step(first).IsSkipped());
        Assert.True(scaler.Step(second).IsSkipped());
        scaler.Update();
        T.Close(new float[] { 0 }, a);
        T.Close(new float[] { 1 }, b);
        Assert.Equal(32, scaler.GetScale());
        Assert.Equal(1, scaler.GetSkippedSteps());
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void A_fixed_scale_never_changes_but_still_skips_overflowing_steps(string kernels)
    {
        var k = KernelCases.Get(kernels);
        var p = Param(5);
        using var scaler = new LossScaler(LossScaleOptions.Fixed(128), k);
        using var sgd = new Sgd(new[] { p }, 1.0, fused: KernelCases.IsFused(kernels));
        Assert.True(Iterate(scaler, sgd, float.PositiveInfinity).IsSkipped());
        T.Close(new float[] { 5 }, p);
        Iterate(scaler, sgd, 128);
        T.Close(new float[] { 4 }, p);
        Assert.Equal(128, scaler.GetScale());
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void A_minimum_scale_is_a_floor_for_backoff(string kernels)
    {
        var k = KernelCases.Get(kernels);
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 4, minScale: 1), k);
        using var sgd = new Sgd(new[] { Param(1) }, 1, fused: KernelCases.IsFused(kernels));
        for (int i = 0; i < 5; i++)
        {
            Iterate(scaler, sgd, float.NaN);
        }

        Assert.Equal(1, scaler.GetScale());
    }

    [Fact]
    public void A_disabled_scaler_is_a_pass_through()
    {
        var p = Param(1);
        using var scaler = LossScaler.Disabled();
        using var sgd = new Sgd(new[] { p }, 1.0);
        var loss = tensor(3f);
        Assert.Same(loss, scaler.Scale(loss));
        Assert.Equal(1, scaler.GetScale());
        p.grad = tensor(new[] { 2f });
        scaler.Unscale(sgd);
        Assert.Null(scaler.Step(sgd).OverflowFlag);
        scaler.Update();
        T.Close(new float[] { -1 }, p);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void State_round_trips_into_a_new_scaler_which_continues_the_sequence(string kernels)
    {
        var k = KernelCases.Get(kernels);
        var options = LossScaleOptions.Dynamic(initialScale: 16, growthInterval: 3);
        using var scaler = new LossScaler(options, k);
        using var sgd = new Sgd(new[] { Param(1) }, 1e-3, fused: KernelCases.IsFused(kernels));
        Iterate(scaler, sgd, float.NaN);
        Iterate(scaler, sgd, 1);
        Iterate(scaler, sgd, 1);
        var state = scaler.GetState();
        Assert.Equal(new LossScalerState(LossScaleMode.Dynamic, 8, 2, 1, 3), state);

        using var resumed = new LossScaler(options, k);
        resumed.LoadState(state);
        Assert.Equal(8, resumed.GetScale());
        Iterate(resumed, sgd, 1);
        Assert.Equal(16, resumed.GetScale());
        Assert.Equal(1, resumed.GetSkippedSteps());
        Assert.Equal(4, resumed.Iterations);
    }

    [Fact]
    public void Empty_state_starts_an_enabled_scaler_at_its_initial_scale()
    {
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 64, growthInterval: 1));
        using var sgd = new Sgd(new[] { Param(1) }, 1e-3);
        Iterate(scaler, sgd, 1);
        Assert.Equal(128, scaler.GetScale());
        scaler.LoadState(null);
        Assert.Equal(64, scaler.GetScale());
        scaler.LoadState(LossScaler.Disabled().GetState());
        Assert.Equal(64, scaler.GetScale());
        using var disabled = LossScaler.Disabled();
        disabled.LoadState(null);
        Assert.Equal(1, disabled.GetScale());
    }

    [Fact]
    public void A_scale_beyond_float32_is_refused_up_front_and_a_failed_load_changes_nothing()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LossScaler(LossScaleOptions.Dynamic(initialScale: 1e39)));
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 8));
        var good = new LossScalerState(LossScaleMode.Dynamic, 2048, 3, 1, 10);
        scaler.LoadState(good);
        Assert.Throws<ArgumentOutOfRangeException>(() => scaler.LoadState(good with { Scale = 1e39 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => scaler.LoadState(good with { Scale = double.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => scaler.LoadState(good with { SkippedSteps = -1 }));
        Assert.Equal(good, scaler.GetState());
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void A_step_with_no_gradients_recorded_is_an_error_as_in_pytorch(string kernels)
    {
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 8), KernelCases.Get(kernels));
        using var sgd = new Sgd(new[] { Param(1) }, 1e-3, fused: KernelCases.IsFused(kernels));
        var e = Assert.Throws<InvalidOperationException>(() => scaler.Step(sgd));
        Assert.Contains("No inf checks were recorded for this optimizer", e.Message);
        Assert.Equal(8, scaler.GetScale());
    }

    [Fact]
    public void Float16_gradients_handed_to_unscale_are_refused_as_in_pytorch()
    {
        using var scaler = new LossScaler(LossScaleOptions.Dynamic(initialScale: 8));
        var half = new Parameter(tensor(new float[] { 1 }).to(ScalarType.Float16));
        using var sgd = new Sgd(new[] { half }, 1e-3);
        half.grad = tensor(new float[] { 8 }).to(ScalarType.Float16);
        var e = Assert.Throws<InvalidOperationException>(() => scaler.Unscale(sgd));
        Assert.Contains("unscale float16 gradients", e.Message);
    }

    [Fact]
    public void Keras_applies_gradients_without_a_prior_scale_loss_unscaling_them_by_the_current_scale()
    {
        var var = Param(1, 2);
        using var optimizer = new LossScaleOptimizer(new Sgd(new[] { var }, 1.0), LossScaleOptions.Dynamic(initialScale: 4, growthInterval: 100));
        var.grad = tensor(new float[] { 4, 8 });                     // gradients already multiplied by the scale 4
        Assert.False(optimizer.ApplyGradients().IsSkipped());
        Assert.Equal(new float[] { 0, 0 }, T.Values(var));            // 1 - 4/4 and 2 - 8/4

        // Keras' form with the gradients as arguments, one per parameter; a wrong count is refused.
        Assert.False(optimizer.ApplyGradients(new[] { tensor(new float[] { -4, -4 }) }).IsSkipped());
        Assert.Equal(new float[] { 1, 1 }, T.Values(var));
        Assert.Throws<ArgumentException>(() => optimizer.ApplyGradients(Array.Empty<Tensor>()));
        Assert.Throws<ArgumentException>(() => optimizer.ApplyGradients(new[] { tensor(new float[] { 1, 2, 3 }) }));
    }

    [Fact]
    public void Keras_vocabulary_scales_the_loss_and_applies_checked_gradients()
    {
        var var = Param(1, 2);
        using var optimizer = new LossScaleOptimizer(new Sgd(new[] { var }, 1.0), LossScaleOptions.Dynamic(initialScale: 2, growthInterval: 1));
        optimizer.ScaleLoss((2 * var).sum()).backward();
        Assert.False(optimizer.ApplyGradients().IsSkipped());
        T.Close(new float[] { -1, 0 }, var);
        Assert.Equal(4, optimizer.GetLossScale());
        Assert.Null(var.grad);

        optimizer.ScaleLoss((var * float.NaN).sum()).backward();
        Assert.True(optimizer.ApplyGradients().IsSkipped());
        Assert.Equal(2, optimizer.GetLossScale());
        Assert.Equal(1, optimizer.GetSkippedSteps());
    }
}
