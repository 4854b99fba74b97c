using MixFit.Kernels;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Tests.Precision;

/// <summary>
/// Clipping through the two whole-iteration entry points (the precision strategy's <c>Step</c> and
/// <see cref="LossScaleOptimizer.ApplyGradients()"/>), with a loss scale above 1: the clip must act on the unscaled
/// gradient. Scale 1024, true gradient 4 (so 4096 after the scaled backward), clipped to 2, SGD with lr 0.25: the
/// parameter moves by lr * 2 = 0.5. Clipping the scaled gradient first would move it by 0.25 * 2 / 1024 instead.
/// </summary>
public class GradientClippingTests
{
    private const double LearningRate = 0.25;

    public static TheoryData<string, double?, double?> Cases => new()
    {
        { "fused", 2.0, null }, { "fused", null, 2.0 },
        { "managed", 2.0, null }, { "managed", null, 2.0 },
    };

    private static AmpKernelPreference Preference(string kernels) => KernelCases.IsFused(kernels) ? AmpKernelPreference.Fused : AmpKernelPreference.Managed;

    /// <summary>A one-weight model, w = 1: the output is w * x, and the loss 4 * output at x = 1 has gradient 4.</summary>
    private static TorchSharp.Modules.Linear OneWeight()
    {
        var model = nn.Linear(1, 1, hasBias: false);
        using (no_grad())
        {
            model.weight!.fill_(1);
        }

        return model;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_precision_strategy_s_step_clips_the_unscaled_gradient(string kernels, double? maxNorm, double? maxValue)
    {
        var model = OneWeight();
        using var precision = PrecisionStrategy.Create(
            DTypePolicy.MixedFloat16, new PrecisionOptions { LossScale = LossScaleOptions.Dynamic(initialScale: 1024), Kernels = Preference(kernels) });
        var parameters = precision.Prepare(model, CPU);
        using var sgd = new Sgd(parameters, LearningRate, fused: KernelCases.IsFused(kernels));

        var output = precision.ConvertOutput(model.call(precision.ConvertInput(ones(1, 1))));
        precision.Backward(4 * output.sum());
        var outcome = precision.Step(sgd, new GradientClipping(maxNorm, maxValue));

        Assert.False(outcome.IsSkipped());
        Assert.Equal(1024, precision.GetLossScale());
        // The master moved by lr * 2 (to clipping's 1e-6 epsilon in the norm), and the float16 working copy with it.
        T.Close(new float[] { 1 - (float)(LearningRate * 2) }, parameters[0], 1e-5);
        T.Close(new float[] { 1 - (float)(LearningRate * 2) }, model.weight!.to(ScalarType.Float32), 1e-3);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_loss_scale_optimizer_clips_the_unscaled_gradient(string kernels, double? maxNorm, double? maxValue)
    {
        var weight = new TorchSharp.Modules.Parameter(tensor(new[] { 1f }));
        using var sgd = new Sgd(new[] { weight }, LearningRate, fused: KernelCases.IsFused(kernels));
        using var optimizer = new LossScaleOptimizer(sgd, LossScaleOptions.Dynamic(initialScale: 1024), new GradientClipping(maxNorm, maxValue), Preference(kernels));

        optimizer.ScaleLoss((4 * weight).sum()).backward();
        Assert.Equal(4 * 1024f, weight.grad!.item<float>());
        var outcome = optimizer.ApplyGradients();

        Assert.False(outcome.IsSkipped());
        T.Close(new float[] { 1 - (float)(LearningRate * 2) }, weight, 1e-5);
        Assert.True(weight.grad is null || weight.grad.abs().max().item<float>() == 0, "ApplyGradients clears the gradients");
    }
}
