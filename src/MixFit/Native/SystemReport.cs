using System.Runtime.InteropServices;
using TorchSharp;

namespace MixFit.Native;

/// <summary>
/// Facts about this machine that matter for mixed precision: versions (the libtorch version is the loaded library's,
/// read at run time), the native libraries really loaded, CUDA devices as the driver describes them, CPU precision
/// features, kernels.
/// Collected by <c>mixfit doctor</c> and recorded in every tracked run's environment. (Which policy to use is
/// decided from measurements, not from these facts: see <c>PrecisionAdvice</c> (MixFit.Experiments).)
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
    LibTorchBuild LibTorchBuild,
    IReadOnlyList<string> NativeLibraries,
    IReadOnlyList<CudaDevice> CudaDevices,
    string? CudaDriverVersion,
    string? CudaProblem)
{
    /// <summary>
    /// Why training cannot run on CUDA here: no driver, no device, or a driver with devices but a libtorch without
    /// CUDA; null when CUDA is available.
    /// </summary>
    public string? CudaUnavailableReason =>
        CudaAvailable ? null
        : CudaProblem is { } problem ? problem
        : CudaDevices.Count > 0 ? $"the driver sees {CudaDevices.Count} GPU(s), but the loaded libtorch has no CUDA: build or reference a CUDA backend (README, GPU section)"
        : "no CUDA device";

    /// <summary>The libtorch version TorchSharp was compiled against (its <c>torch.__version__</c>), which may differ from <see cref="LibTorchVersion"/>, the one loaded.</summary>
    public string TorchSharpBuiltFor => torch.__version__;

    /// <summary>Loads the backend and collects the report.</summary>
    /// <exception cref="NativeLoadException">TorchSharp's native backend did not load.</exception>
    public static SystemReport Collect()
    {
        TorchRuntime.EnsureLoaded();
        bool cuda = torch.cuda.is_available();
        var build = LibTorchBuild.Current;
        var devices = CudaDriver.Devices(out string? problem, out string? driver);
        return new SystemReport(
            typeof(SystemReport).Assembly.GetName().Version?.ToString(3) ?? "unknown",
            RuntimeInformation.FrameworkDescription,
            RuntimeInformation.OSDescription,
            TorchRuntime.TorchSharpVersion,
            build.Version ?? TorchRuntime.LibTorchVersion,
            cuda,
            cuda ? torch.cuda.device_count() : 0,
            CpuFeatures.Detect(),
            torch.get_num_threads(),
            MixFit.Kernels.AmpKernels.Default.Name,
            build,
            LoadedLibraries.Torch(),
            devices,
            driver,
            problem);
    }
}
