using MixFit.Kernels;
using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>
/// Gradient clipping applied to UNSCALED gradients (after the loss scale is divided out), so thresholds mean the
/// same under every policy. Either or both: a maximum global L2 norm, and a maximum absolute element value.
/// </summary>
/// <param name="MaxNorm">Rescale all gradients so their global L2 norm is at most this (like <c>clip_grad_norm_</c>); null: off.</param>
/// <param name="MaxValue">Clamp every element into [-value, value] (like <c>clip_grad_value_</c>); null: off.</param>
public sealed record GradientClipping(double? MaxNorm = null, double? MaxValue = null)
{
    /// <summary>Clips <paramref name="grads"/> in place with <paramref name="kernels"/>; never synchronises.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A threshold is not positive.</exception>
    public void Apply(IReadOnlyList<Tensor> grads, AmpKernels kernels)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        if (MaxValue is { } value)
        {
            if (!(value > 0))
            {
                throw new ArgumentOutOfRangeException(nameof(MaxValue), value, "MaxValue must be positive.");
            }

            kernels.ClipValue(grads, value);
        }

        if (MaxNorm is { } norm)
        {
            if (!(norm > 0))
            {
                throw new ArgumentOutOfRangeException(nameof(MaxNorm), norm, "MaxNorm must be positive.");
            }

            kernels.ClipNorm(grads, norm);
        }
    }
}
