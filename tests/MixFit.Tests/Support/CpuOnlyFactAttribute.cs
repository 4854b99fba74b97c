namespace MixFit.Tests.Support;

/// <summary>
/// A fact about a machine without CUDA (e.g. the message for a missing CUDA build): on a CUDA host it is reported as
/// skipped with the reason, never as a silent pass.
/// </summary>
public sealed class CpuOnlyFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when a CUDA device is usable.</summary>
    public CpuOnlyFactAttribute()
    {
        if (MixFit.Native.TorchRuntime.CudaAvailable)
        {
            Skip = "needs a machine without CUDA (this one has a usable CUDA device)";
        }
    }
}
