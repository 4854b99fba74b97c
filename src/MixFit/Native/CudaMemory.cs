using System.Runtime.InteropServices;

namespace MixFit.Native;

/// <summary>
/// libtorch's CUDA caching-allocator statistics (PyTorch's <c>torch.cuda.max_memory_allocated</c>,
/// <c>max_memory_reserved</c>, <c>reset_peak_memory_stats</c>), which TorchSharp does not expose. They come from two
/// exports that <c>tools/build-torchsharp-shim.sh --extra tools/native/mixfit_cuda_memory.cpp</c> adds to a self-built
/// shim (the GPU kit builds it so); with TorchSharp's own shim, or on the CPU, <see cref="Read"/> returns null and
/// the process's device memory comes from NVML instead (the tracker's <c>gpu.process.i.memoryAllocatedBytes</c>).
/// </summary>
public static class CudaMemory
{
    private static readonly Lazy<(StatsFunction? Stats, ResetFunction? Reset)> Exports = new(Find);

    /// <summary>Whether the loaded shim carries the statistics.</summary>
    public static bool Available => Exports.Value.Stats is not null;

    /// <summary>Device <paramref name="device"/>'s allocator figures, or null when the shim does not carry them or the call failed.</summary>
    public static CudaMemoryStats? Read(int device)
    {
        if (Exports.Value.Stats is not { } stats)
        {
            return null;
        }

        var values = new long[4];
        return stats(device, values) == 0 ? new CudaMemoryStats(values[0], values[1], values[2], values[3]) : null;
    }

    /// <summary>Starts a new peak window on <paramref name="device"/>; false when not available.</summary>
    public static bool ResetPeak(int device) => Exports.Value.Reset is { } reset && reset(device) == 0;

    private static (StatsFunction?, ResetFunction?) Find()
    {
        TorchRuntime.EnsureLoaded();
        return (
            LoadedLibraries.Export<StatsFunction>("libLibTorchSharp", "MixFit_cuda_memory_stats"),
            LoadedLibraries.Export<ResetFunction>("libLibTorchSharp", "MixFit_cuda_reset_peak_memory_stats"));
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int StatsFunction(int device, [Out] long[] values);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int ResetFunction(int device);
}
