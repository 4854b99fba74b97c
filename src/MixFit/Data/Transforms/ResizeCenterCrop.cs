using SkiaSharp;

namespace MixFit.Data.Transforms;

/// <summary>Scales the shorter side to <see cref="ShorterSide"/> (aspect kept), then crops the centre <see cref="Size"/> x <see cref="Size"/>: ImageNet-style evaluation preprocessing.</summary>
public sealed class ResizeCenterCrop(int shorterSide, int size) : ImageTransform
{
    /// <summary>Length of the shorter side after scaling.</summary>
    public int ShorterSide { get; } = shorterSide > 0 ? shorterSide : throw new ArgumentOutOfRangeException(nameof(shorterSide));

    /// <summary>Side of the square crop (at most <see cref="ShorterSide"/>).</summary>
    public int Size { get; } = size > 0 && size <= shorterSide ? size : throw new ArgumentOutOfRangeException(nameof(size), size, "The crop must be positive and at most the shorter side.");

    /// <inheritdoc />
    public override SKBitmap Apply(SKBitmap image, Random random)
    {
        // The crop window expressed in source pixels: scale = shorter side / min(w, h).
        float scale = (float)ShorterSide / Math.Min(image.Width, image.Height);
        float side = Size / scale;
        float left = (image.Width - side) / 2;
        float top = (image.Height - side) / 2;
        return Draw(image, new SKRect(left, top, left + side, top + side), Size, Size);
    }
}
