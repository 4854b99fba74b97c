using System.Runtime.InteropServices;
using TorchSharp;

namespace MixFit.Native;

/// <summary>
/// Loads TorchSharp's native backend once and reports versions and the default device.
/// </summary>
/// <remarks>
/// Call <see cref="EnsureLoaded"/> before the first tensor operation to turn an opaque type-initialisation
/// failure into a <see cref="NativeLoadException"/> whose message says what is wrong. The most common cause on
/// Debian 12 / Ubuntu 22.04 is TorchSharp 0.107's need for <c>GLIBCXX_3.4.32</c>; MixFit's build
/// (<c>build/MixFit.Native.targets</c>) fixes the copy of <c>libLibTorchSharp.so</c> in the output folder.
/// </remarks>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool loaded;

    /// <summary>TorchSharp's managed assembly version, e.g. <c>0.107.0</c>.</summary>
    public static string TorchSharpVersion =>
        typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    /// <summary>
    /// The loaded libtorch's version, e.g. <c>2.10.0</c>, read from the library at run time (<see cref="LibTorchBuild"/>);
    /// TorchSharp's compile-time <c>torch.__version__</c> when the library does not say. Loads the backend.
    /// </summary>
    public static string LibTorchVersion
    {
        get
        {
            EnsureLoaded();
            return LibTorchBuild.Current.Version ?? torch.__version__;
        }
    }

    /// <summary>Whether a CUDA device is usable (a CUDA TorchSharp package is referenced and a GPU is present).</summary>
    public static bool CudaAvailable
    {
        get
        {
            EnsureLoaded();
            return torch.cuda.is_available();
        }
    }

    /// <summary>CUDA when available, else the CPU.</summary>
    public static torch.Device DefaultDevice => CudaAvailable ? torch.CUDA : torch.CPU;

    /// <summary>Loads the native backend and runs one tiny computation.</summary>
    /// <exception cref="NativeLoadException">The backend did not load; the message names the cause and the fix.</exception>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (loaded)
            {
                return;
            }

            try
            {
                ExternalLibTorch.Preload();
                using var probe = torch.ones(2).sum();
                _ = probe.item<float>();
                loaded = true;
            }
            catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or EntryPointNotFoundException)
            {
                throw new NativeLoadException(Diagnose(), e);
            }
        }
    }

    /// <summary>Asks the dynamic loader why <c>libLibTorchSharp</c> does not load and phrases the answer.</summary>
    /// <param name="library">The library to try; null: search <paramref name="searchDirectory"/>.</param>
    /// <param name="searchDirectory">Where the application's files are; null: <see cref="AppContext.BaseDirectory"/>.</param>
    internal static string Diagnose(string? library = null, string? searchDirectory = null)
    {
        library ??= FindLibTorchSharp(searchDirectory ?? AppContext.BaseDirectory);
        if (library is null)
        {
            return "TorchSharp's native library (libLibTorchSharp) is not next to the application. Reference a native "
                + "backend package: libtorch-cpu-linux-x64 or TorchSharp-cpu for CPUs, TorchSharp-cuda-linux for NVIDIA GPUs.";
        }

        try
        {
            NativeLibrary.Free(NativeLibrary.Load(library));
        }
        catch (DllNotFoundException e) when (e.Message.Contains("GLIBCXX_", StringComparison.Ordinal))
        {
            return $"{library} needs a newer C++ runtime than this machine's libstdc++ ({e.Message.Trim()}). "
                + "TorchSharp 0.107 asks for GLIBCXX_3.4.32 only for a symbol it never calls: build through MixFit's "
                + "build/MixFit.Native.targets (imported automatically by the MixFit package), which marks that version "
                + "need weak in the output folder's copy, or install a newer libstdc++ (GCC 13 or later).";
        }
        catch (DllNotFoundException e)
        {
            return $"{library} did not load: {e.Message.Trim()}";
        }

        return $"{library} loads, but TorchSharp failed to initialise; see the inner exception.";
    }

    private static string? FindLibTorchSharp(string baseDir)
    {
        string name = OperatingSystem.IsWindows() ? "LibTorchSharp.dll"
            : OperatingSystem.IsMacOS() ? "libLibTorchSharp.dylib" : "libLibTorchSharp.so";
        string rid = RuntimeInformation.RuntimeIdentifier;
        string[] candidates =
        {
            Path.Combine(baseDir, name),
            Path.Combine(baseDir, "runtimes", rid, "native", name),
            Path.Combine(baseDir, "runtimes", $"{(OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsMacOS() ? "osx" : "win")}-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}", "native", name),
        };
        return candidates.FirstOrDefault(File.Exists);
    }
}
