using SkiaSharp;

namespace MixFit.Data.Transforms;

/// <summary>
/// Crops a random area (default 8-100% of the image) with a random aspect ratio (default 3/4 to 4/3) and resizes it
/// to <see cref="Size"/> x <see cref="Size"/> (torchvision's algorithm: 10 tries, then a centre crop).
/// </summary>
public sealed class RandomResizedCrop(int size, double minScale = 0.08, double maxScale = 1.0, double minRatio = 3.0 / 4, double maxRatio = 4.0 / 3) : ImageTransform
{
    /// <summary>Output side in pixels.</summary>
    public int Size { get; } = size > 0 ? size : throw new ArgumentOutOfRangeException(nameof(size));

    /// <inheritdoc />
    public override SKBitmap Apply(SKBitmap image, Random random)
    {
        double area = image.Width * image.Height;
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (minScale + (random.NextDouble() * (maxScale - minScale)));
            double ratio = Math.Exp(Math.Log(minRatio) + (random.NextDouble() * (Math.Log(maxRatio) - Math.Log(minRatio))));
            int w = (int)Math.Round(Math.Sqrt(target * ratio));
            int h = (int)Math.Round(Math.Sqrt(target / ratio));
            if (w > 0 && h > 0 && w <= image.Width && h <= image.Height)
            {
                int left = random.Next(image.Width - w + 1);
                int top = random.Next(image.Height - h + 1);
                return Draw(image, new SKRect(left, top, left + w, top + h), Size, Size);
            }
        }

        int side = Math.Min(image.Width, image.Height);
        return Draw(image, SKRect.Create((image.Width - side) / 2f, (image.Height - side) / 2f, side, side), Size, Size);
    }
}
