using SkiaSharp;

namespace MixFit.Data.Transforms;

/// <summary>
/// Random brightness and contrast: brightness multiplies by a factor in [1-b, 1+b]; contrast blends towards the
/// mean grey by a factor in [1-c, 1+c] (torchvision's definitions), applied as one colour matrix.
/// </summary>
public sealed class ColorJitter(double brightness = 0, double contrast = 0) : ImageTransform
{
    /// <summary>Brightness range b.</summary>
    public double Brightness { get; } = brightness is >= 0 and < 1 ? brightness : throw new ArgumentOutOfRangeException(nameof(brightness));

    /// <summary>Contrast range c.</summary>
    public double Contrast { get; } = contrast is >= 0 and < 1 ? contrast : throw new ArgumentOutOfRangeException(nameof(contrast));

    /// <inheritdoc />
    public override SKBitmap Apply(SKBitmap image, Random random)
    {
        float b = (float)(1 + ((random.NextDouble() * 2 - 1) * Brightness));
        float c = (float)(1 + ((random.NextDouble() * 2 - 1) * Contrast));

        // out = c * (b * in) + (1 - c) * grey, with grey = 0.5 of full scale (Skia's matrix offsets are in [0, 1]).
        float scale = b * c;
        float offset = (1 - c) * 0.5f;
        var matrix = new float[]
        {
            scale, 0, 0, 0, offset,
            0, scale, 0, 0, offset,
            0, 0, scale, 0, offset,
            0, 0, 0, 1, 0,
        };
        var result = new SKBitmap(image.Info);
        using var canvas = new SKCanvas(result);
        using var paint = new SKPaint { ColorFilter = SKColorFilter.CreateColorMatrix(matrix) };
        canvas.DrawBitmap(image, 0, 0, paint);
        return result;
    }
}
