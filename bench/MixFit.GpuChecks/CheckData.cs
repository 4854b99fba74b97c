using MixFit.Data;
using static TorchSharp.torch;

namespace MixFit.GpuChecks;

/// <summary>Real images for the checks and the benchmark: the embedded Fashion-MNIST, resized and given 3 channels when a model wants them.</summary>
public static class CheckData
{
    /// <summary>The first <paramref name="count"/> training images as [count, channels, size, size] float32 in [0, 1] and their labels, on the CPU.</summary>
    public static (Tensor X, Tensor Y) Images(int count, int channels = 1, int size = 28)
    {
        var (x, y) = FashionMnist.LoadEmbedded(FashionMnistSplit.Train).ToTensors(count);
        if (size != 28)
        {
            using var small = x;
            x = nn.functional.interpolate(small, new long[] { size, size }, mode: InterpolationMode.Bilinear, align_corners: false);
        }

        if (channels != 1)
        {
            using var grey = x;
            x = grey.expand(-1, channels, -1, -1).contiguous();
        }

        return (x, y);
    }
}
