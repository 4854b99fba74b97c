using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>
/// Channels-last (NHWC) memory order for 4-D tensors, as PyTorch's <c>memory_format=torch.channels_last</c>: the shape
/// stays [N, C, H, W] and only the strides change (TorchSharp 0.107 exposes no memory-format argument, so the layout
/// is made by a permute to NHWC, a contiguous copy and a permute back).
/// </summary>
internal static class MemoryLayout
{
    /// <summary>A 4-D tensor in channels-last order (other ranks unchanged).</summary>
    public static Tensor ChannelsLast(Tensor x) => x.dim() == 4 ? x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : x;

    /// <summary>Whether a tensor's strides are channels-last.</summary>
    public static bool IsChannelsLast(Tensor x) => x.dim() == 4 && x.stride(1) == 1 && x.stride(3) == x.shape[1];

    /// <summary>Moves every 4-D parameter of <paramref name="module"/> (convolution kernels) to channels-last order in place.</summary>
    public static void ToChannelsLast(nn.Module module)
    {
        using var _ = no_grad();
        foreach (var p in module.parameters().Where(p => p.dim() == 4 && !IsChannelsLast(p)))
        {
            p.set_(ChannelsLast(p.detach()));
        }
    }
}
