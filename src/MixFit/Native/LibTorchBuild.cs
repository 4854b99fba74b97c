using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace MixFit.Native;

/// <summary>
/// What the loaded libtorch says about itself at run time: its version, CUDA and cuDNN versions, CPU capability,
/// read from libtorch's own configuration text (<c>at::show_config()</c>, the text of PyTorch's
/// <c>torch.__config__.show()</c>). TorchSharp's <c>torch.__version__</c> is the version TorchSharp was compiled
/// against, whatever library is loaded; this is the one that runs.
/// </summary>
/// <param name="Version">libtorch's <c>TORCH_VERSION</c> (e.g. <c>2.10.0</c>), or null when not readable.</param>
/// <param name="CudaVersion">The CUDA version it was built with, or null for a CPU build.</param>
/// <param name="CudnnVersion">The cuDNN version it was built with, or null.</param>
/// <param name="CpuCapability">The CPU kernels in use (e.g. <c>AVX512</c>), or null.</param>
/// <param name="Configuration">The whole configuration text, or an explanation of why it could not be read.</param>
public sealed record LibTorchBuild(string? Version, string? CudaVersion, string? CudnnVersion, string? CpuCapability, string Configuration)
{
    private static readonly Lazy<LibTorchBuild> Loaded = new(Read);

    /// <summary>The loaded libtorch's build (read once per process; loads the backend).</summary>
    public static LibTorchBuild Current => Loaded.Value;

    /// <summary>Parses <c>at::show_config()</c>'s text.</summary>
    public static LibTorchBuild Parse(string configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string? Setting(string name) => Regex.Match(configuration, $@"\b{name}=([^,\s]+)") is { Success: true } m ? m.Groups[1].Value : null;
        string? capability = Regex.Match(configuration, @"CPU capability usage:\s*(\S+)") is { Success: true } c ? c.Groups[1].Value : null;
        bool cuda = Setting("USE_CUDA") is "ON" or "1";
        return new LibTorchBuild(Setting("TORCH_VERSION"), cuda ? Setting("CUDA_VERSION") : null, cuda ? Setting("CUDNN_VERSION") : null, capability, configuration);
    }

    private static LibTorchBuild Read()
    {
        TorchRuntime.EnsureLoaded();
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return new LibTorchBuild(null, null, null, null, "libtorch's configuration is read on Linux x64 only.");
        }

        if (LoadedLibraries.Find("libtorch_cpu") is not { } path)
        {
            return new LibTorchBuild(null, null, null, null, "libtorch_cpu is not among the loaded libraries.");
        }

        // std::string at::show_config() with the C++11 ABI: returned through a hidden pointer to a 32-byte
        // std::string {char* data; size_t size; char local[16]}. The text is copied and its buffer left to the
        // process (a few kilobytes, once: freeing it would assume libstdc++'s allocator).
        if (LoadedLibraries.Export<ShowConfig>("libtorch_cpu", "_ZN2at11show_configB5cxx11Ev") is not { } showConfig)
        {
            return new LibTorchBuild(null, null, null, null, $"{path} exports no at::show_config() with the C++11 ABI.");
        }

        var result = Marshal.AllocHGlobal(32);
        try
        {
            showConfig(result);
            var data = Marshal.ReadIntPtr(result);
            long size = Marshal.ReadInt64(result, 8);
            if (data == IntPtr.Zero || size is < 0 or > 1 << 20)
            {
                return new LibTorchBuild(null, null, null, null, "at::show_config() returned no text.");
            }

            return Parse(Marshal.PtrToStringUTF8(data, (int)size));
        }
        finally
        {
            Marshal.FreeHGlobal(result);
        }
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr ShowConfig(IntPtr result);
}
