using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Data;

/// <summary>
/// Moves batches to the training device the way a GPU wants them: from page-locked (pinned) host memory with a
/// non-blocking copy, so the host goes on preparing the next batch while the copy and the step run on the device.
/// On the CPU (or when the tensor is already there) nothing is copied.
/// </summary>
/// <remarks>
/// Pinning costs one host copy of the batch into libtorch's caching pinned-memory pool (reused from step to step);
/// a pinned tensor freed before its copy completes stays reserved until the copy's event has passed (libtorch's
/// caching host allocator), so the source may be disposed right away.
/// </remarks>
public static class DeviceCopy
{
    /// <summary>
    /// <paramref name="tensor"/> on <paramref name="device"/> in its own dtype, or in <paramref name="dtype"/> when
    /// given (the cast runs on the device after the copy, when the device is a GPU).
    /// </summary>
    public static Tensor To(Tensor tensor, Device device, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(device);
        // TorchSharp's Device has reference equality: compare type and index (an unindexed device means index 0).
        bool there = tensor.device_type == device.type && (tensor.device_index == device.index || (device.index < 0 && tensor.device_index <= 0));
        if (there)
        {
            return dtype is { } d && tensor.dtype != d ? tensor.to(d) : tensor;
        }

        if (tensor.device_type == DeviceType.CPU && device.type == DeviceType.CUDA)
        {
            var pinned = tensor.is_pinned() ? tensor : tensor.pin_memory();
            var moved = pinned.to(device, non_blocking: true);
            if (!ReferenceEquals(pinned, tensor))
            {
                pinned.Dispose();
            }

            return dtype is { } cast && moved.dtype != cast ? moved.to(cast) : moved;
        }

        return dtype is { } target ? tensor.to(target, device) : tensor.to(device);
    }
}
