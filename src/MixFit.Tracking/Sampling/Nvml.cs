using System.Runtime.InteropServices;

namespace MixFit.Tracking.Sampling;

/// <summary>
/// NVIDIA's management library (<c>libnvidia-ml.so.1</c>), loaded only when present: GPU utilisation, memory, power and
/// temperature. On machines without an NVIDIA driver <see cref="TryCreate"/> returns null and nothing is sampled.
/// </summary>
public sealed class Nvml
{
    private readonly IntPtr library;
    private readonly NvmlInit init;
    private readonly DeviceCount deviceCount;
    private readonly DeviceHandle deviceHandle;
    private readonly Utilization utilization;
    private readonly MemoryInfo memoryInfo;
    private readonly PowerUsage powerUsage;
    private readonly Temperature temperature;
    private readonly DeviceName deviceName;
    private readonly DriverVersion driverVersion;
    private readonly RunningProcesses? runningProcesses;

    private Nvml(IntPtr library)
    {
        this.library = library;
        init = Function<NvmlInit>("nvmlInit_v2");
        deviceCount = Function<DeviceCount>("nvmlDeviceGetCount_v2");
        deviceHandle = Function<DeviceHandle>("nvmlDeviceGetHandleByIndex_v2");
        utilization = Function<Utilization>("nvmlDeviceGetUtilizationRates");
        memoryInfo = Function<MemoryInfo>("nvmlDeviceGetMemoryInfo");
        powerUsage = Function<PowerUsage>("nvmlDeviceGetPowerUsage");
        temperature = Function<Temperature>("nvmlDeviceGetTemperature");
        deviceName = Function<DeviceName>("nvmlDeviceGetName");
        driverVersion = Function<DriverVersion>("nvmlSystemGetDriverVersion");
        // The v2 call: its record (24 bytes) is fixed, while the v3 record grew between driver releases.
        runningProcesses = NativeLibrary.TryGetExport(library, "nvmlDeviceGetComputeRunningProcesses_v2", out var v2) ? Marshal.GetDelegateForFunctionPointer<RunningProcesses>(v2) : null;
    }

    private delegate int NvmlInit();

    private delegate int DeviceCount(out uint count);

    private delegate int DeviceHandle(uint index, out IntPtr device);

    private delegate int Utilization(IntPtr device, out UtilizationRates rates);

    private delegate int MemoryInfo(IntPtr device, out Memory memory);

    private delegate int PowerUsage(IntPtr device, out uint milliwatts);

    private delegate int Temperature(IntPtr device, int sensor, out uint celsius);

    private delegate int DeviceName(IntPtr device, byte[] name, uint length);

    private delegate int DriverVersion(byte[] version, uint length);

    private delegate int RunningProcesses(IntPtr device, ref uint count, [Out] ProcessInfo[] infos);

    /// <summary>Number of GPUs.</summary>
    public int DeviceCountValue { get; private set; }

    /// <summary>Loads NVML and initialises it; null when the library is absent or fails to initialise.</summary>
    public static Nvml? TryCreate(string libraryName = "libnvidia-ml.so.1")
    {
        if (!NativeLibrary.TryLoad(libraryName, out var handle))
        {
            return null;
        }

        try
        {
            var nvml = new Nvml(handle);
            if (nvml.init() != 0 || nvml.deviceCount(out uint count) != 0)
            {
                return null;
            }

            nvml.DeviceCountValue = (int)count;
            return nvml;
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The name of GPU <paramref name="index"/>, e.g. <c>NVIDIA H200</c>.</summary>
    public string Name(int index)
    {
        var buffer = new byte[96];
        return deviceHandle((uint)index, out var device) == 0 && deviceName(device, buffer, (uint)buffer.Length) == 0
            ? System.Text.Encoding.ASCII.GetString(buffer).TrimEnd('\0')
            : "unknown";
    }

    /// <summary>The NVIDIA driver version, e.g. <c>550.54.15</c>.</summary>
    public string Driver()
    {
        var buffer = new byte[96];
        return driverVersion(buffer, (uint)buffer.Length) == 0 ? System.Text.Encoding.ASCII.GetString(buffer).TrimEnd('\0') : "unknown";
    }

    /// <summary>Total memory of GPU <paramref name="index"/> in bytes, or 0 when unreadable.</summary>
    public ulong TotalMemory(int index) =>
        deviceHandle((uint)index, out var device) == 0 && memoryInfo(device, out var memory) == 0 ? memory.Total : 0;

    /// <summary>
    /// W&amp;B-named readings of every GPU: <c>gpu.i.gpu</c>, <c>gpu.i.memoryAllocated</c>, <c>gpu.i.memoryAllocatedBytes</c>,
    /// <c>gpu.i.powerWatts</c>, <c>gpu.i.temp</c>, and this process's own memory on it, <c>gpu.process.i.memoryAllocatedBytes</c>
    /// (what the driver charges the process: libtorch's reserved pool plus the CUDA context).
    /// </summary>
    public Dictionary<string, double> Sample()
    {
        var values = new Dictionary<string, double>();
        for (uint i = 0; i < DeviceCountValue; i++)
        {
            if (deviceHandle(i, out var device) != 0)
            {
                continue;
            }

            if (utilization(device, out var rates) == 0)
            {
                values[$"gpu.{i}.gpu"] = rates.Gpu;
            }

            if (memoryInfo(device, out var memory) == 0 && memory.Total > 0)
            {
                values[$"gpu.{i}.memoryAllocated"] = 100.0 * memory.Used / memory.Total;
                values[$"gpu.{i}.memoryAllocatedBytes"] = memory.Used;
            }

            if (ProcessMemory(device) is { } bytes)
            {
                values[$"gpu.process.{i}.memoryAllocatedBytes"] = bytes;
            }

            if (powerUsage(device, out uint milliwatts) == 0)
            {
                values[$"gpu.{i}.powerWatts"] = milliwatts / 1000.0;
            }

            if (temperature(device, 0, out uint celsius) == 0)
            {
                values[$"gpu.{i}.temp"] = celsius;
            }
        }

        return values;
    }

    /// <summary>The device memory this process uses on <paramref name="device"/>, or null when the driver does not say (or the process has none there).</summary>
    private ulong? ProcessMemory(IntPtr device)
    {
        if (runningProcesses is null)
        {
            return null;
        }

        var infos = new ProcessInfo[64];
        uint count = (uint)infos.Length;
        if (runningProcesses(device, ref count, infos) != 0)
        {
            return null;
        }

        int pid = Environment.ProcessId;
        var listed = infos.AsSpan(0, (int)Math.Min(count, (uint)infos.Length));
        foreach (var info in listed)
        {
            if (info.Pid == pid && info.UsedGpuMemory != ulong.MaxValue)
            {
                return info.UsedGpuMemory;
            }
        }

        // In a container the driver lists host pids, so this process never finds itself; when it is the only compute
        // process on the device, the figure is its own.
        return count == 1 && InContainer && listed[0].UsedGpuMemory != ulong.MaxValue ? listed[0].UsedGpuMemory : null;
    }

    // A pid namespace other than the host's (containers): /proc/1 is not init or systemd.
    private static bool InContainer { get; } = File.Exists("/.dockerenv") || File.Exists("/run/.containerenv")
        || (File.Exists("/proc/1/comm") && File.ReadAllText("/proc/1/comm").Trim() is not ("systemd" or "init"));

    private T Function<T>(string name)
        where T : Delegate => Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(library, name));

    [StructLayout(LayoutKind.Sequential)]
    private struct UtilizationRates
    {
        public uint Gpu;
        public uint Memory;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Memory
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    // nvmlProcessInfo_v2_t: pid, used memory (ULLONG_MAX when unavailable), MIG instance ids. In a container the pid
    // is the host's, so the process may not find itself: then no per-process figure is reported.
    [StructLayout(LayoutKind.Sequential)]
    private struct ProcessInfo
    {
        public uint Pid;
        public ulong UsedGpuMemory;
        public uint GpuInstanceId;
        public uint ComputeInstanceId;
    }
}
