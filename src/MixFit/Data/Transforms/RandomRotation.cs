using SkiaSharp;

namespace MixFit.Data.Transforms;

/// <summary>Rotates by a random angle in [-<see cref="Degrees"/>, <see cref="Degrees"/>] around the centre, keeping the size; uncovered corners are black.</summary>
public sealed class RandomRotation(double degrees) : ImageTransform
{
    /// <summary>Largest rotation in degrees.</summary>
    public double Degrees { get; } = degrees >= 0 ? degrees : throw new ArgumentOutOfRangeException(nameof(degrees));

    /// <inheritdoc />
    public override SKBitmap Apply(SKBitmap image, Random random)
    {
        float angle = (float)((random.NextDouble() * 2 - 1) * Degrees);
        return Draw(image, new SKRect(0, 0, image.Width, image.Height), image.Width, image.Height,
            canvas => canvas.RotateDegrees(angle, image.Width / 2f, image.Height / 2f));
    }
}
