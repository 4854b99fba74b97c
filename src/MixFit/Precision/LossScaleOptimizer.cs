using MixFit.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>
/// Keras' vocabulary for loss scaling: an optimizer wrapper that scales the loss and applies unscaled, checked
/// gradients, adapting the scale. Equivalent to driving a <see cref="LossScaler"/> by hand.
/// </summary>
/// <example><code>
/// using var opt = new LossScaleOptimizer(new FusedAdam(model.parameters()));      // dynamic, initial 32768
/// opt.ScaleLoss(loss).backward();
/// StepOutcome outcome = opt.ApplyGradients();   // unscale, clip, check, step or skip, update the scale
/// </code></example>
public sealed class LossScaleOptimizer : IDisposable
{
    /// <summary>Wraps <paramref name="inner"/>; <paramref name="options"/> defaults to dynamic scaling (Keras' default).</summary>
    public LossScaleOptimizer(Optimizer inner, LossScaleOptions? options = null, GradientClipping? clipping = null)
    {
        InnerOptimizer = inner ?? throw new ArgumentNullException(nameof(inner));
        Scaler = new LossScaler(options, inner.Kernels);
        Clipping = clipping;
    }

    /// <summary>The wrapped optimizer.</summary>
    public Optimizer InnerOptimizer { get; }

    /// <summary>The scaler doing the work.</summary>
    public LossScaler Scaler { get; }

    /// <summary>Clipping applied to unscaled gradients, or null.</summary>
    public GradientClipping? Clipping { get; }

    /// <summary>The current loss scale (Keras' <c>dynamic_scale</c>). Synchronises.</summary>
    public double LossScale => Scaler.GetScale();

    /// <summary>Iterations skipped for inf/NaN gradients. Synchronises.</summary>
    public long SkippedSteps => Scaler.SkippedSteps;

    /// <summary>Keras' <c>scale_loss</c>: the loss multiplied by the current scale, in float32.</summary>
    public Tensor ScaleLoss(Tensor loss) => Scaler.Scale(loss);

    /// <summary>
    /// Keras' <c>apply_gradients</c> over the gradients already accumulated on the parameters: unscale, clip, check,
    /// step or skip, update the scale, and clear the gradients.
    /// </summary>
    public StepOutcome ApplyGradients()
    {
        Scaler.Unscale(InnerOptimizer);
        if (Clipping is not null)
        {
            using var scope = NewDisposeScope();
            Clipping.Apply(InnerOptimizer.Gradients(), InnerOptimizer.Kernels);
        }

        var outcome = Scaler.Step(InnerOptimizer);
        Scaler.Update();
        InnerOptimizer.ZeroGrad();
        return outcome;
    }

    /// <summary>Disposes the scaler (not the inner optimizer, which the caller owns).</summary>
    public void Dispose() => Scaler.Dispose();
}
