using MixFit.Native;

namespace MixFit.Tests.Native;

public class LoadedLibrariesTests
{
    [Fact]
    public void The_process_reports_the_libtorch_and_shim_files_it_really_loaded()
    {
        TorchRuntime.EnsureLoaded();
        var loaded = LoadedLibraries.Torch();
        Assert.Contains(loaded, path => Path.GetFileName(path) == "libLibTorchSharp.so");
        string? libtorch = LoadedLibraries.Find("libtorch_cpu");
        Assert.NotNull(libtorch);
        Assert.True(File.Exists(libtorch), libtorch);
        Assert.Equal(loaded.Count, loaded.Distinct().Count());
    }

    [Fact]
    public void A_maps_file_yields_each_interesting_library_once_in_load_order()
    {
        string maps = Path.Combine(Path.GetTempPath(), $"maps-{Guid.NewGuid():N}");
        File.WriteAllLines(maps, new[]
        {
            "7f10a0000000-7f10a0200000 r--p 00000000 08:01 123 /opt/torch/lib/libtorch_cuda.so",
            "7f10a0200000-7f10a0400000 r-xp 00200000 08:01 123 /opt/torch/lib/libtorch_cuda.so",
            "7f10b0000000-7f10b0100000 r--p 00000000 08:01 124 /opt/py/site-packages/nvidia/cuda_runtime/lib/libcudart.so.13",
            "7f10c0000000-7f10c0100000 r--p 00000000 08:01 125 /opt/my app/libLibTorchSharp.so",
            "7f10d0000000-7f10d0100000 r--p 00000000 08:01 126 /usr/lib/x86_64-linux-gnu/libssl.so.3",
            "7f10e0000000-7f10e0100000 r--p 00000000 08:01 127 /opt/torch/lib/libgomp-a34b3233.so.1",
            "7f10f0000000-7f10f0100000 rw-p 00000000 00:00 0 [heap]",
        });
        try
        {
            Assert.Equal(
                new[] { "/opt/torch/lib/libtorch_cuda.so", "/opt/py/site-packages/nvidia/cuda_runtime/lib/libcudart.so.13", "/opt/my app/libLibTorchSharp.so", "/opt/torch/lib/libgomp-a34b3233.so.1" },
                LoadedLibraries.Torch(maps));
        }
        finally
        {
            File.Delete(maps);
        }
    }

    [Theory]
    [InlineData("/a/libtorch_cpu.so", "libtorch_cpu")]
    [InlineData("libcudart.so.13", "libcudart")]
    [InlineData("libgomp-98b21ff3.so.1", "libgomp")]
    [InlineData("libnccl.so.2", "libnccl")]
    [InlineData("libc10-cuda.so", "libc10-cuda")]
    public void Base_names_drop_the_so_suffix_and_a_wheel_hash(string path, string expected) => Assert.Equal(expected, LoadedLibraries.BaseName(path));
}
