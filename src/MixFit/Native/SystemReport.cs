using System.Runtime.InteropServices;
using TorchSharp;

namespace MixFit.Native;

/// <summary>
/// Facts about this machine that matter for mixed precision: versions, devices, CPU precision features, kernels.
/// Collected by <c>mixfit doctor</c> and recorded in every tracked run's environment. (Which policy to use is
/// decided from measurements, not from these facts: see <see cref="MixFit.Precision.PrecisionAdvice"/>.)
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
    string AmpKernels)
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
            MixFit.Kernels.AmpKernels.Default.Name);
    }
}
