namespace MixFit.Kernels;

/// <summary>Which <see cref="AmpKernels"/> implementation to use.</summary>
public enum AmpKernelPreference
{
    /// <summary>Fused kernels where this libtorch compiles them, else managed.</summary>
    Auto,

    /// <summary>libtorch's fused kernels through TorchScript; an error where unavailable.</summary>
    Fused,

    /// <summary>Per-tensor TorchSharp calls (decides skipped steps on the host).</summary>
    Managed,
}
