using System.Runtime.InteropServices;

namespace MixFit.Native;

/// <summary>
/// Loads a libtorch that is not in the application folder (a PyTorch install's <c>torch/lib</c>, a LibTorch archive)
/// before TorchSharp looks for one: the backend of applications built with <c>-p:MixFitTorchBackend=external</c>,
/// whose own <c>libLibTorchSharp.so</c> was built against that libtorch (<c>tools/build-torchsharp-shim.sh</c>).
/// </summary>
/// <remarks>
/// <para>Where the libtorch is: the <c>MIXFIT_LIBTORCH_DIR</c> environment variable, else the folder the build recorded
/// from <c>MixFitLibTorchDir</c> (the runtime option <c>MixFit.LibTorchDir</c> in the app's runtimeconfig.json).
/// Nothing happens when neither is set.</para>
/// <para>The libraries are loaded by full path in dependency order (<c>libc10</c>, <c>libtorch_cpu</c>, the CUDA
/// pair when present, <c>libtorch</c>); TorchSharp's later loads by name then find them in the process, and the
/// libraries' own RUNPATH finds what they need next to them (a CUDA wheel's <c>nvidia/*</c> libraries), so no
/// <c>LD_LIBRARY_PATH</c> is needed. Applications built with the external backend call <see cref="Preload()"/> from a
/// generated module initializer, before their first line runs; <see cref="TorchRuntime.EnsureLoaded"/> calls it too.</para>
/// </remarks>
public static class ExternalLibTorch
{
    /// <summary>The environment variable that names the libtorch folder (overrides the build's).</summary>
    public const string EnvironmentVariable = "MIXFIT_LIBTORCH_DIR";

    /// <summary>The runtime option the build writes from <c>MixFitLibTorchDir</c>.</summary>
    public const string RuntimeOption = "MixFit.LibTorchDir";

    private static readonly object Gate = new();
    private static string? loadedFrom;

    /// <summary>The folder the libtorch was preloaded from, or null when none was configured.</summary>
    public static string? LoadedFrom => loadedFrom;

    /// <summary>The configured libtorch folder (environment first, then the build's runtime option), or null.</summary>
    public static string? ConfiguredDirectory() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
        : AppContext.GetData(RuntimeOption) is string { Length: > 0 } fromBuild ? fromBuild
        : null;

    /// <summary>Preloads the configured libtorch (once per process); does nothing when none is configured.</summary>
    /// <exception cref="NativeLoadException">The folder has no libtorch, or a library in it does not load; the message names the file and how the folder was configured.</exception>
    public static void Preload()
    {
        if (ConfiguredDirectory() is { } directory)
        {
            Preload(directory);
        }
    }

    /// <summary>Preloads libtorch from <paramref name="directory"/> (a <c>torch</c> folder or its <c>lib</c> folder).</summary>
    /// <exception cref="NativeLoadException">No <c>libtorch_cpu.so</c> there, or a library does not load (the loader's message included).</exception>
    public static void Preload(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        lock (Gate)
        {
            if (loadedFrom is not null)
            {
                return;
            }

            string lib = Directory.Exists(Path.Combine(directory, "lib")) && !File.Exists(Path.Combine(directory, LibraryFile("torch_cpu")))
                ? Path.Combine(directory, "lib")
                : directory;
            string source = Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } ? $"{EnvironmentVariable}={directory}" : $"the build's MixFitLibTorchDir ({directory})";
            if (!File.Exists(Path.Combine(lib, LibraryFile("torch_cpu"))))
            {
                throw new NativeLoadException(
                    $"MixFit was told to load libtorch from {source}, but {Path.Combine(lib, LibraryFile("torch_cpu"))} does not exist. Point it at a PyTorch install's torch folder (python -c \"import torch, os; print(os.path.dirname(torch.__file__))\") or a LibTorch archive's libtorch folder.");
            }

            foreach (var name in new[] { "c10", "torch_cpu", "c10_cuda", "torch_cuda", "torch" })
            {
                string path = Path.Combine(lib, LibraryFile(name));
                if (!File.Exists(path))
                {
                    continue;    // the CUDA pair exists only in CUDA builds
                }

                try
                {
                    NativeLibrary.Load(path);
                }
                catch (DllNotFoundException e)
                {
                    throw new NativeLoadException($"{path} (from {source}) did not load: {e.Message}", e);
                }
            }

            loadedFrom = lib;
        }
    }

    private static string LibraryFile(string name) =>
        OperatingSystem.IsWindows() ? name + ".dll" : OperatingSystem.IsMacOS() ? $"lib{name}.dylib" : $"lib{name}.so";
}
