using SkiaSharp;

namespace MixFit.Data.Transforms;

/// <summary>Mirrors the image left-right with probability <see cref="Probability"/> (default 0.5).</summary>
public sealed class RandomHorizontalFlip(double probability = 0.5) : ImageTransform
{
    /// <summary>Chance of flipping.</summary>
    public double Probability { get; } = probability is >= 0 and <= 1 ? probability : throw new ArgumentOutOfRangeException(nameof(probability));

    /// <inheritdoc />
    public override SKBitmap Apply(SKBitmap image, Random random)
    {
        if (random.NextDouble() >= Probability)
        {
            return image;
        }

        var result = new SKBitmap(image.Info);
        using var canvas = new SKCanvas(result);
        canvas.Scale(-1, 1, image.Width / 2f, 0);
        canvas.DrawBitmap(image, 0, 0);
        return result;
    }
}
