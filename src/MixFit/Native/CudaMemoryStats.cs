namespace MixFit.Native;

/// <summary>libtorch's CUDA caching-allocator figures for one device, in bytes.</summary>
/// <param name="AllocatedBytes">Held by live tensors now.</param>
/// <param name="PeakAllocatedBytes">The most held by tensors since the last peak reset (PyTorch's <c>max_memory_allocated</c>).</param>
/// <param name="ReservedBytes">Reserved from the driver by the allocator now (tensors plus its cache).</param>
/// <param name="PeakReservedBytes">The most reserved since the last peak reset (PyTorch's <c>max_memory_reserved</c>).</param>
public sealed record CudaMemoryStats(long AllocatedBytes, long PeakAllocatedBytes, long ReservedBytes, long PeakReservedBytes);
