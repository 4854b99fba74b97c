using MixFit.Native;

namespace MixFit.Tests.Support;

/// <summary>
/// A fact that needs a CUDA device in this process (a CUDA libtorch loaded and a GPU present): skipped elsewhere with
/// the reason (no driver, no device, or a CPU-only libtorch), never a silent pass. Tests that use it carry
/// <c>[Trait("Category", "Cuda")]</c>, so <c>dotnet test --filter Category=Cuda</c> runs exactly them.
/// </summary>
public sealed class CudaFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when CUDA is not available.</summary>
    public CudaFactAttribute()
    {
        if (Reason is { } reason)
        {
            Skip = reason;
        }
    }

    /// <summary>Why CUDA is not available here, or null when it is.</summary>
    public static string? Reason { get; } = Probe();

    private static string? Probe()
    {
        try
        {
            return SystemReport.Collect().CudaUnavailableReason is { } reason ? "needs CUDA: " + reason : null;
        }
        catch (NativeLoadException e)
        {
            return "needs CUDA: libtorch did not load: " + e.Message;
        }
    }
}
