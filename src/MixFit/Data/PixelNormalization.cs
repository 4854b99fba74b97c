namespace MixFit.Data;

/// <summary>How 8-bit pixels become model inputs: <c>(pixel / 255 - mean[c]) / std[c]</c> per channel.</summary>
/// <param name="Mean">Per-channel means (one value applies to every channel).</param>
/// <param name="Std">Per-channel standard deviations.</param>
public sealed record PixelNormalization(IReadOnlyList<float> Mean, IReadOnlyList<float> Std)
{
    /// <summary>Pixels scaled to [0, 1].</summary>
    public static PixelNormalization UnitRange { get; } = new(new[] { 0f }, new[] { 1f });

    /// <summary>ImageNet statistics, as torchvision's pretrained models expect.</summary>
    public static PixelNormalization ImageNet { get; } = new(new[] { 0.485f, 0.456f, 0.406f }, new[] { 0.229f, 0.224f, 0.225f });

    /// <summary>The mean of channel <paramref name="c"/>.</summary>
    public float MeanOf(int c) => Mean[Mean.Count == 1 ? 0 : c];

    /// <summary>The standard deviation of channel <paramref name="c"/>.</summary>
    public float StdOf(int c) => Std[Std.Count == 1 ? 0 : c];
}
