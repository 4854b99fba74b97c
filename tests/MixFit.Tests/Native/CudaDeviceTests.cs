using MixFit.Native;

namespace MixFit.Tests.Native;

public class CudaDeviceTests
{
    [Theory]
    [InlineData(6, 1, "")]
    [InlineData(7, 5, "float16")]
    [InlineData(8, 6, "float16,bfloat16")]
    [InlineData(9, 0, "float16,bfloat16")]
    public void Tensor_core_dtypes_follow_the_compute_capability(int major, int minor, string expected)
    {
        var device = new CudaDevice(0, "test", major, minor, 1L << 30);
        Assert.Equal(expected, string.Join(",", device.TensorCoreDTypes));
        Assert.Equal($"{major}.{minor}", device.ComputeCapability);
    }

    [Fact]
    public void The_driver_either_lists_devices_or_says_why_not()
    {
        var devices = CudaDriver.Devices(out string? problem, out _);
        Assert.Equal(devices.Count == 0, problem is not null);
        if (!File.Exists("/dev/nvidiactl"))
        {
            Assert.Empty(devices);
            Assert.False(string.IsNullOrWhiteSpace(problem));
        }
    }

    [Fact]
    public void The_report_says_why_cuda_is_unavailable_and_nothing_when_it_is()
    {
        var report = SystemReport.Collect();
        var withoutDriver = report with { CudaAvailable = false, CudaProblem = "libcuda.so.1 not found (no NVIDIA driver on this machine)", CudaDevices = Array.Empty<CudaDevice>() };
        Assert.Equal("libcuda.so.1 not found (no NVIDIA driver on this machine)", withoutDriver.CudaUnavailableReason);

        var cpuLibTorch = withoutDriver with { CudaProblem = null, CudaDevices = new[] { new CudaDevice(0, "NVIDIA H200", 9, 0, 141L << 30) } };
        Assert.StartsWith("the driver sees 1 GPU(s), but the loaded libtorch has no CUDA", cpuLibTorch.CudaUnavailableReason);

        Assert.Equal("no CUDA device", (withoutDriver with { CudaProblem = null }).CudaUnavailableReason);
        Assert.Null((withoutDriver with { CudaAvailable = true }).CudaUnavailableReason);
    }
}

