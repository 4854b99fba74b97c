using System.Runtime.InteropServices;

namespace MixFit.Native;

/// <summary>
/// The native libraries this process really loaded (read from <c>/proc/self/maps</c> on Linux): which
/// <c>libLibTorchSharp</c>, which libtorch, and whether CUDA's runtime, cuDNN and NCCL are in. That answers "which
/// build am I running" when several libtorch copies exist (the NuGet cache, a PyTorch install, a self-built shim).
/// </summary>
public static class LoadedLibraries
{
    private static readonly string[] Interesting =
    {
        "libLibTorchSharp", "libtorch", "libtorch_cpu", "libtorch_cuda", "libc10", "libc10_cuda", "libcudart", "libcudnn", "libnccl", "libcublas", "libnvidia-ml", "libcuda", "libgomp", "libmpi",
    };

    /// <summary>The full paths of the loaded libraries MixFit cares about, in load order; empty where the OS does not tell (non-Linux).</summary>
    public static IReadOnlyList<string> Torch() => Torch("/proc/self/maps");

    /// <summary>The path of the loaded library named <paramref name="baseName"/> (e.g. <c>libtorch_cpu</c>), or null.</summary>
    public static string? Find(string baseName) => Torch().FirstOrDefault(path => BaseName(path) == baseName);

    /// <summary>
    /// The exported function <paramref name="symbol"/> of the already loaded library <paramref name="baseName"/>
    /// (e.g. <c>THSTensor_data</c> of <c>libLibTorchSharp</c>) as a delegate, or null when that library is not loaded
    /// or does not export it. Loads nothing new: the handle is the one the process already holds.
    /// </summary>
    public static T? Export<T>(string baseName, string symbol)
        where T : Delegate =>
        Find(baseName) is { } path && NativeLibrary.TryLoad(path, out var library) && NativeLibrary.TryGetExport(library, symbol, out var function)
            ? Marshal.GetDelegateForFunctionPointer<T>(function)
            : null;

    /// <summary>The interesting libraries of a maps file (tests pass their own).</summary>
    internal static IReadOnlyList<string> Torch(string mapsFile)
    {
        if (!File.Exists(mapsFile))
        {
            return Array.Empty<string>();
        }

        var seen = new List<string>();
        foreach (var line in File.ReadLines(mapsFile))
        {
            // address perms offset dev inode path: the path is the sixth field and may contain spaces.
            int slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                continue;
            }

            string path = line[slash..].Trim();
            if (path.EndsWith(" (deleted)", StringComparison.Ordinal) || seen.Contains(path))
            {
                continue;
            }

            if (Array.IndexOf(Interesting, BaseName(path)) >= 0)
            {
                seen.Add(path);
            }
        }

        return seen;
    }

    /// <summary><c>libtorch_cpu</c> for <c>/x/libtorch_cpu.so</c>, <c>libcudart</c> for <c>libcudart.so.13</c> or <c>libgomp-98b21ff3.so.1</c> (a wheel's hash suffix dropped).</summary>
    public static string BaseName(string path)
    {
        string name = Path.GetFileName(path);
        int so = name.IndexOf(".so", StringComparison.Ordinal);
        string stem = so < 0 ? name : name[..so];
        int hash = stem.LastIndexOf('-');
        return hash > 0 && stem.Length - hash == 9 && stem[(hash + 1)..].All(Uri.IsHexDigit) ? stem[..hash] : stem;
    }
}
