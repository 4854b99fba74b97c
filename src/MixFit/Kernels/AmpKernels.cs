using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Kernels;

/// <summary>
/// The multi-tensor primitives behind loss scaling and master weights: unscale-and-check, scale update, list
/// copy/add and gradient clipping. (Each optimizer owns its own update, fused and managed: see
/// <see cref="MixFit.Optimizers.Optimizer"/>.)
/// </summary>
/// <remarks>
/// <para>Two implementations give the same results (tests compare them):</para>
/// <list type="bullet">
/// <item><see cref="Fused"/>: libtorch's own kernels (<c>_amp_foreach_non_finite_check_and_unscale_</c>,
/// <c>_amp_update_scale_</c>, <c>_foreach_*</c>), which TorchSharp does
/// not bind, reached through a small TorchScript compilation unit. No device-to-host synchronisation: a skipped
/// step is decided on the device.</item>
/// <item><see cref="Managed"/>: per-tensor TorchSharp calls; decides skips on the host (one sync per check).</item>
/// </list>
/// <para>Overflow flags (<c>foundInf</c>) are 0-dim float32 tensors: 0 = finite, anything else = skip.</para>
/// </remarks>
public abstract class AmpKernels
{
    private static readonly Lazy<AmpKernels?> FusedInstance = new(TryCreateFused, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The pure TorchSharp implementation; always available.</summary>
    public static AmpKernels Managed { get; } = new ManagedAmpKernels();

    /// <summary>libtorch's fused kernels through TorchScript, or null when this libtorch build cannot compile them.</summary>
    public static AmpKernels? Fused => FusedInstance.Value;

    /// <summary><see cref="Fused"/> when available, else <see cref="Managed"/>.</summary>
    public static AmpKernels Default => Fused ?? Managed;

    /// <summary>A short name for logs and benchmarks: <c>fused</c> or <c>managed</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Returns <see cref="Fused"/>, <see cref="Managed"/> or <see cref="Default"/> for a preference.</summary>
    /// <exception cref="NotSupportedException">Fused kernels were required but cannot be compiled by this libtorch.</exception>
    public static AmpKernels Select(AmpKernelPreference preference) =>
        KernelChoice.UseFused(preference, Fused is not null, "AMP kernels") ? Fused! : Managed;

    /// <summary>Multiplies every gradient by <paramref name="invScale"/> and sets <paramref name="foundInf"/> to 1 if any was inf or NaN.</summary>
    /// <remarks>All tensors of one call must share a device and dtype (callers group them).</remarks>
    public abstract void UnscaleAndCheck(IReadOnlyList<Tensor> grads, Tensor foundInf, Tensor invScale);

    /// <summary>
    /// Ends a loss-scaled iteration in one call (PyTorch <c>_amp_update_scale_</c> plus bookkeeping): on overflow
    /// multiply the scale by <paramref name="backoff"/> and reset the tracker; otherwise count, and after
    /// <paramref name="interval"/> finite iterations multiply by <paramref name="growth"/> unless that would be
    /// non-finite. Then clamp to <paramref name="minScale"/> (when positive), refresh <paramref name="invScale"/>
    /// = 1/scale, and add 1 to <paramref name="skipped"/> when <paramref name="foundInf"/> is set. A fixed scale
    /// passes growth and backoff of 1.
    /// </summary>
    public abstract void UpdateScale(
        Tensor scale, Tensor growthTracker, Tensor foundInf, Tensor invScale, Tensor skipped, double growth, double backoff, long interval, double minScale);

    /// <summary><c>dst[i].copy_(src[i])</c> for every pair, converting dtypes.</summary>
    public abstract void Copy(IReadOnlyList<Tensor> destinations, IReadOnlyList<Tensor> sources);

    /// <summary><c>dst[i].add_(src[i])</c> for every pair (sources may have a lower precision).</summary>
    public abstract void Add(IReadOnlyList<Tensor> destinations, IReadOnlyList<Tensor> sources);

    /// <summary>Scales the gradients so their global L2 norm is at most <paramref name="maxNorm"/> (no host sync).</summary>
    public abstract void ClipNorm(IReadOnlyList<Tensor> grads, double maxNorm);

    /// <summary>Clamps every gradient element into [-<paramref name="clipValue"/>, <paramref name="clipValue"/>].</summary>
    public abstract void ClipValue(IReadOnlyList<Tensor> grads, double clipValue);

    private static AmpKernels? TryCreateFused() => TorchScriptAmpKernels.Available ? new TorchScriptAmpKernels() : null;
}
