using MixFit.Build;
using MixFit.Native;
using MixFit.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Tests.Native;

public class TorchRuntimeTests
{
    [Fact]
    public void TorchSharp_loads_and_computes_a_matrix_product()
    {
        TorchRuntime.EnsureLoaded();
        var a = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        var product = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, product.data<float>().ToArray());
        Assert.StartsWith(ExpectedLibTorch.MajorMinor, TorchRuntime.LibTorchVersion);
        Assert.Equal("0.107.0", TorchRuntime.TorchSharpVersion);
    }

    [Fact]
    public void A_library_that_needs_a_missing_glibcxx_version_is_diagnosed_by_name()
    {
        string provider = ElfVersions.FindSystemLibrary("libstdc++.so.6")!;
        if (ElfVersions.ReadDefinitions(provider).Contains("GLIBCXX_3.4.32"))
        {
            // Newer distributions load the unpatched library: the diagnosis then reports a successful load.
            Assert.Contains("loads", TorchRuntime.Diagnose(Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).First()));
            return;
        }

        // Beside the real one, so its libtorch dependencies resolve and only the version need fails.
        string original = Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).First();
        string unpatched = Path.Combine(Path.GetDirectoryName(original)!, $"libLibTorchSharp-unpatched-{Environment.ProcessId}.so");
        File.Copy(original, unpatched, overwrite: true);
        try
        {
            ElfVersions.MarkWeak(unpatched, "libstdc++.so.6", "GLIBCXX_3.4.32", weak: false);
            string message = TorchRuntime.Diagnose(unpatched);
            Assert.Contains("GLIBCXX_3.4.32", message);
            Assert.Contains("MixFit.Native.targets", message);
        }
        finally
        {
            File.Delete(unpatched);
        }
    }

    [Fact]
    public void A_missing_native_library_is_diagnosed_as_a_missing_backend_package()
    {
        // An application folder without libLibTorchSharp (no backend package referenced).
        string empty = Directory.CreateTempSubdirectory("mixfit-nobackend-").FullName;
        try
        {
            string message = TorchRuntime.Diagnose(null, empty);
            Assert.Contains("is not next to the application", message);
            Assert.Contains("libtorch-cpu-linux-x64", message);
            Assert.Contains("TorchSharp-cuda-linux", message);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public void The_native_library_next_to_the_tests_is_found_and_loads()
    {
        string message = TorchRuntime.Diagnose(null);
        Assert.EndsWith("loads, but TorchSharp failed to initialise; see the inner exception.", message);
        Assert.Contains("libLibTorchSharp.so", message);
    }
}
