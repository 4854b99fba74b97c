using MixFit.Native;
using MixFit.Tests.Support;

namespace MixFit.Tests.Native;

public class LibTorchBuildTests
{
    [Fact]
    public void The_loaded_libtorch_tells_its_own_version_at_run_time()
    {
        var build = LibTorchBuild.Current;
        Assert.Contains("PyTorch built with", build.Configuration);
        Assert.Equal(ExpectedLibTorch.Version, build.Version);      // NuGet's libtorch-cpu-linux-x64 2.10.0, or the one tools/current-libtorch/test.sh builds against
        Assert.Null(build.CudaVersion);             // a CPU build
        Assert.Equal(build.Version, TorchRuntime.LibTorchVersion);
    }

    [Fact]
    public void A_cuda_build_configuration_gives_its_cuda_and_cudnn_versions()
    {
        // The shape of torch.__config__.show() on a CUDA wheel (PyTorch 2.x), abridged.
        const string text = """
            PyTorch built with:
              - GCC 13.3
              - CPU capability usage: AVX512
              - CUDA Runtime 13.0
              - Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release, CUDA_VERSION=13.0, CUDNN_VERSION=9.13.0, CXX_COMPILER=/opt/rh/gcc-toolset-13/root/usr/bin/c++, TORCH_VERSION=2.11.0, USE_CUDA=ON, USE_CUDNN=ON,
            """;
        var build = LibTorchBuild.Parse(text);
        Assert.Equal("2.11.0", build.Version);
        Assert.Equal("13.0", build.CudaVersion);
        Assert.Equal("9.13.0", build.CudnnVersion);
        Assert.Equal("AVX512", build.CpuCapability);
    }

    [Fact]
    public void A_cpu_build_configuration_has_no_cuda_versions_even_when_they_are_mentioned()
    {
        var build = LibTorchBuild.Parse("  - CPU capability usage: AVX2\n  - Build settings: CUDA_VERSION=12.1, TORCH_VERSION=1.13.0, USE_CUDA=OFF, USE_MPI=OFF,\n");
        Assert.Equal("1.13.0", build.Version);
        Assert.Null(build.CudaVersion);
        Assert.Equal("AVX2", build.CpuCapability);
    }
}
