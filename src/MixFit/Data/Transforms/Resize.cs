using SkiaSharp;

namespace MixFit.Data.Transforms;

/// <summary>Resizes to exactly <see cref="Width"/> x <see cref="Height"/> with bilinear filtering (torchvision's default, not nearest).</summary>
public sealed class Resize(int width, int height) : ImageTransform
{
    /// <summary>Target width in pixels.</summary>
    public int Width { get; } = width > 0 ? width : throw new ArgumentOutOfRangeException(nameof(width));

    /// <summary>Target height in pixels.</summary>
    public int Height { get; } = height > 0 ? height : throw new ArgumentOutOfRangeException(nameof(height));

    /// <inheritdoc />
    public override SKBitmap Apply(SKBitmap image, Random random) =>
        image.Width == Width && image.Height == Height ? image : Draw(image, new SKRect(0, 0, image.Width, image.Height), Width, Height);
}
