using System.Runtime.InteropServices;
using MixFit.Data;
using TorchSharp;

namespace MixFit.Native;

/// <summary>
/// Facts about this machine that matter for mixed precision: versions, devices, CPU precision features, kernels,
/// data. Collected by <c>mixfit doctor</c>.
/// </summary>
public sealed record SystemReport(
    string MixFitVersion,
    string DotNetVersion,
    string OperatingSystem,
    string TorchSharpVersion,
    string LibTorchVersion,
    bool CudaAvailable,
    int CudaDeviceCount,
    CpuFeatures Cpu,
    int CpuThreads,
    string AmpKernels,
    bool FullFashionMnistInstalled)
{
    /// <summary>Loads the backend and collects the report.</summary>
    /// <exception cref="NativeLoadException">TorchSharp's native backend did not load.</exception>
    public static SystemReport Collect()
    {
        TorchRuntime.EnsureLoaded();
        bool cuda = torch.cuda.is_available();
        return new SystemReport(
            typeof(SystemReport).Assembly.GetName().Version?.ToString(3) ?? "unknown",
            RuntimeInformation.FrameworkDescription,
            RuntimeInformation.OSDescription,
            TorchRuntime.TorchSharpVersion,
            TorchRuntime.LibTorchVersion,
            cuda,
            cuda ? torch.cuda.device_count() : 0,
            CpuFeatures.Detect(),
            torch.get_num_threads(),
            MixFit.Kernels.AmpKernels.Default.Name,
            FashionMnist.FullSetInstalled);
    }

    /// <summary>
    /// The policy to start with and why, from the hardware alone (CUDA: mixed_float16 is safe everywhere with loss
    /// scaling, and Ampere or newer also runs mixed_bfloat16; CPU: mixed_bfloat16 only with native bfloat16 units).
    /// </summary>
    public (string Policy, string Reason) Recommendation =>
        CudaAvailable
            ? ("mixed_float16", "a CUDA device is available: half-precision tensor cores pay off (on Ampere or newer, mixed_bfloat16 also works without loss scaling)")
            : Cpu.NativeBFloat16
                ? ("mixed_bfloat16", "this CPU has native bfloat16 units (AVX512-BF16/AMX-BF16)")
                : ("float32", "this CPU has no native bfloat16/float16 arithmetic, so half-precision compute is emulated and slower than float32");
}
