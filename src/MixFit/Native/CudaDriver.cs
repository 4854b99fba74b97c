using System.Runtime.InteropServices;
using System.Text;

namespace MixFit.Native;

/// <summary>
/// The CUDA devices and driver version, asked of the NVIDIA driver itself (<c>libcuda.so.1</c>'s stable C API:
/// <c>cuInit</c>, <c>cuDeviceGetName</c>, <c>cuDeviceGetAttribute</c>, <c>cuDeviceTotalMem</c>), because TorchSharp
/// exposes only the device count. Needs no CUDA toolkit; on a machine without the driver it reports why.
/// </summary>
public static class CudaDriver
{
    private const int AttributeComputeCapabilityMajor = 75;
    private const int AttributeComputeCapabilityMinor = 76;

    /// <summary>The devices the driver sees, or an empty list with <paramref name="problem"/> saying why.</summary>
    /// <param name="problem">Null when the driver answered; else e.g. <c>libcuda.so.1 not found (no NVIDIA driver)</c>.</param>
    /// <param name="driverVersion">The driver's CUDA version, e.g. <c>13.0</c>, or null.</param>
    public static IReadOnlyList<CudaDevice> Devices(out string? problem, out string? driverVersion)
    {
        driverVersion = null;
        if (!NativeLibrary.TryLoad("libcuda.so.1", out var library) && !NativeLibrary.TryLoad("nvcuda.dll", out library))
        {
            problem = "libcuda.so.1 not found (no NVIDIA driver on this machine)";
            return Array.Empty<CudaDevice>();
        }

        T Function<T>(string name)
            where T : Delegate =>
            Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(library, name));

        try
        {
            int status = Function<IntIn>("cuInit")(0);
            if (status != 0)
            {
                problem = $"cuInit failed with CUDA error {status} (no usable device, or the driver and kernel module disagree)";
                return Array.Empty<CudaDevice>();
            }

            if (Function<IntOut>("cuDriverGetVersion")(out int version) == 0)
            {
                driverVersion = $"{version / 1000}.{version % 1000 / 10}";
            }

            Check(Function<IntOut>("cuDeviceGetCount")(out int count), "cuDeviceGetCount");
            var getDevice = Function<DeviceGet>("cuDeviceGet");
            var getName = Function<DeviceGetName>("cuDeviceGetName");
            var getAttribute = Function<DeviceGetAttribute>("cuDeviceGetAttribute");
            var totalMemory = Function<DeviceTotalMem>("cuDeviceTotalMem_v2");
            var devices = new List<CudaDevice>();
            for (int i = 0; i < count; i++)
            {
                Check(getDevice(out int device, i), "cuDeviceGet");
                var name = new byte[256];
                Check(getName(name, name.Length, device), "cuDeviceGetName");
                Check(getAttribute(out int major, AttributeComputeCapabilityMajor, device), "cuDeviceGetAttribute");
                Check(getAttribute(out int minor, AttributeComputeCapabilityMinor, device), "cuDeviceGetAttribute");
                Check(totalMemory(out nuint bytes, device), "cuDeviceTotalMem");
                devices.Add(new CudaDevice(i, Encoding.UTF8.GetString(name, 0, Math.Max(0, Array.IndexOf(name, (byte)0))), major, minor, (long)bytes));
            }

            problem = count == 0 ? "the driver sees no CUDA device" : null;
            return devices;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or InvalidOperationException)
        {
            problem = e.Message;
            return Array.Empty<CudaDevice>();
        }
    }

    private static void Check(int status, string call)
    {
        if (status != 0)
        {
            throw new InvalidOperationException($"{call} failed with CUDA error {status}");
        }
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int IntIn(uint flags);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int IntOut(out int value);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int DeviceGet(out int device, int ordinal);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int DeviceGetName(byte[] name, int length, int device);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int DeviceGetAttribute(out int value, int attribute, int device);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int DeviceTotalMem(out nuint bytes, int device);
}
