using MixFit.Kernels;

namespace MixFit.Tests.Support;

/// <summary>Runs a theory once with the fused (TorchScript) kernels and once with the managed ones.</summary>
public static class KernelCases
{
    public static TheoryData<string> Names => new() { "fused", "managed" };

    public static AmpKernels Get(string name) => name switch
    {
        "fused" => AmpKernels.Fused ?? throw new InvalidOperationException("Fused kernels failed to compile on this libtorch."),
        "managed" => AmpKernels.Managed,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "fused or managed"),
    };

    /// <summary>The optimizers' <c>fused</c> argument for a case name.</summary>
    public static bool IsFused(string name) => name switch
    {
        "fused" => true,
        "managed" => false,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "fused or managed"),
    };
}
