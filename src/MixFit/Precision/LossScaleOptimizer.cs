using MixFit.Kernels;
using MixFit.Optimizers;
using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>
/// Keras' vocabulary for loss scaling: an optimizer wrapper that scales the loss and applies unscaled, checked
/// gradients, adapting the scale. The same iteration as <see cref="PrecisionStrategy.Step(Optimizer, GradientClipping?)"/>
/// (one implementation, <see cref="LossScaler"/>), without a precision strategy around it.
/// </summary>
/// <example><code>
/// using var opt = new LossScaleOptimizer(new Adam(model.parameters()));      // dynamic, initial 32768
/// opt.ScaleLoss(loss).backward();
/// StepOutcome outcome = opt.ApplyGradients();   // unscale, clip, check, step or skip, update the scale, clear the gradients
/// </code></example>
public sealed class LossScaleOptimizer : IDisposable
{
    /// <summary>Wraps <paramref name="inner"/>; <paramref name="options"/> defaults to dynamic scaling (Keras' default).</summary>
    /// <param name="inner">The optimizer to wrap (the caller keeps ownership).</param>
    /// <param name="options">Loss scaling; default dynamic with Keras' defaults.</param>
    /// <param name="clipping">Clipping applied to unscaled gradients, or null.</param>
    /// <param name="kernels">The AMP kernels for unscaling, checking and clipping. Default auto (fused where available).</param>
    public LossScaleOptimizer(Optimizer inner, LossScaleOptions? options = null, GradientClipping? clipping = null, AmpKernelPreference kernels = AmpKernelPreference.Auto)
    {
        InnerOptimizer = inner ?? throw new ArgumentNullException(nameof(inner));
        Scaler = new LossScaler(options, AmpKernels.Select(kernels));
        Clipping = clipping;
    }

    /// <summary>The wrapped optimizer.</summary>
    public Optimizer InnerOptimizer { get; }

    /// <summary>The scaler doing the work.</summary>
    public LossScaler Scaler { get; }

    /// <summary>Clipping applied to unscaled gradients, or null.</summary>
    public GradientClipping? Clipping { get; }

    /// <summary>The current loss scale (Keras' <c>dynamic_scale</c>). Synchronises.</summary>
    public double GetLossScale() => Scaler.GetScale();

    /// <summary>Iterations skipped for inf/NaN gradients. Synchronises.</summary>
    public long GetSkippedSteps() => Scaler.GetSkippedSteps();

    /// <summary>Keras' <c>scale_loss</c>: the loss multiplied by the current scale, in float32.</summary>
    public Tensor ScaleLoss(Tensor loss) => Scaler.Scale(loss);

    /// <summary>
    /// Keras' <c>apply_gradients</c> over the gradients already accumulated on the parameters: unscale, clip, check,
    /// step or skip, update the scale, and clear the gradients.
    /// </summary>
    public StepOutcome ApplyGradients()
    {
        var outcome = Scaler.Apply(new[] { InnerOptimizer }, Clipping)[0];
        InnerOptimizer.ClearGradients();
        return outcome;
    }

    /// <summary>
    /// Keras' <c>apply_gradients(grads)</c> form: <paramref name="gradients"/> (scaled, one per parameter of the inner
    /// optimizer, in its order) become the parameters' gradients, then as <see cref="ApplyGradients()"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Not one gradient per parameter, or a shape that differs from its parameter's.</exception>
    public StepOutcome ApplyGradients(IReadOnlyList<Tensor> gradients)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        var parameters = InnerOptimizer.Parameters;
        if (gradients.Count != parameters.Count)
        {
            throw new ArgumentException($"Got {gradients.Count} gradients for the optimizer's {parameters.Count} parameters; give one per parameter, in order.", nameof(gradients));
        }

        for (int i = 0; i < parameters.Count; i++)
        {
            if (!gradients[i].shape.SequenceEqual(parameters[i].shape))
            {
                throw new ArgumentException(
                    $"Gradient {i} has shape [{string.Join(",", gradients[i].shape)}], its parameter [{string.Join(",", parameters[i].shape)}].", nameof(gradients));
            }
        }

        for (int i = 0; i < parameters.Count; i++)
        {
            parameters[i].grad = gradients[i];
        }

        return ApplyGradients();
    }

    /// <summary>Disposes the scaler (not the inner optimizer, which the caller owns).</summary>
    public void Dispose() => Scaler.Dispose();
}
