using SkiaSharp;

namespace MixFit.Data.Transforms;

/// <summary>Pads every side with <see cref="Padding"/> black pixels, then crops a random <see cref="Width"/> x <see cref="Height"/> window (CIFAR-style augmentation).</summary>
public sealed class RandomCrop(int width, int height, int padding = 0) : ImageTransform
{
    /// <summary>Crop width.</summary>
    public int Width { get; } = width > 0 ? width : throw new ArgumentOutOfRangeException(nameof(width));

    /// <summary>Crop height.</summary>
    public int Height { get; } = height > 0 ? height : throw new ArgumentOutOfRangeException(nameof(height));

    /// <summary>Black border added on each side first.</summary>
    public int Padding { get; } = padding >= 0 ? padding : throw new ArgumentOutOfRangeException(nameof(padding));

    /// <inheritdoc />
    public override SKBitmap Apply(SKBitmap image, Random random)
    {
        int paddedWidth = image.Width + (2 * Padding);
        int paddedHeight = image.Height + (2 * Padding);
        if (paddedWidth < Width || paddedHeight < Height)
        {
            throw new InvalidOperationException($"RandomCrop: a {image.Width}x{image.Height} image padded by {Padding} is smaller than the {Width}x{Height} crop.");
        }

        int left = random.Next(paddedWidth - Width + 1) - Padding;
        int top = random.Next(paddedHeight - Height + 1) - Padding;
        var result = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var canvas = new SKCanvas(result);
        canvas.Clear(SKColors.Black);
        canvas.DrawBitmap(image, -left, -top);
        return result;
    }
}
