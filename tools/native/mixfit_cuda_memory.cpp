// MixFit's one addition to TorchSharp's native shim, compiled in by tools/build-torchsharp-shim.sh --extra when the
// libtorch has CUDA: the CUDA caching allocator's statistics (PyTorch's torch.cuda.memory_stats and
// reset_peak_memory_stats), which TorchSharp does not expose. Read from C# by MixFit.Native.CudaMemory; a shim
// without these exports simply reports no allocator figures.
#include <c10/cuda/CUDACachingAllocator.h>

#include <cstdint>

#define MIXFIT_EXPORT extern "C" __attribute__((visibility("default")))

// values[0..3]: allocated bytes now, allocated peak, reserved bytes now, reserved peak. Returns 0, or 1 on failure.
MIXFIT_EXPORT int MixFit_cuda_memory_stats(int device, int64_t* values)
{
    try {
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
        // Index 0 is the aggregate over the small and large pools (StatType::AGGREGATE in every libtorch since 1.x).
        values[0] = stats.allocated_bytes[0].current;
        values[1] = stats.allocated_bytes[0].peak;
        values[2] = stats.reserved_bytes[0].current;
        values[3] = stats.reserved_bytes[0].peak;
        return 0;
    } catch (...) {
        return 1;
    }
}

// Starts a new peak window (PyTorch's torch.cuda.reset_peak_memory_stats). Returns 0, or 1 on failure.
MIXFIT_EXPORT int MixFit_cuda_reset_peak_memory_stats(int device)
{
    try {
        c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device));
        return 0;
    } catch (...) {
        return 1;
    }
}
