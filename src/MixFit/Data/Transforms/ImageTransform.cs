using SkiaSharp;

namespace MixFit.Data.Transforms;

/// <summary>
/// One step of image preprocessing or augmentation on a decoded bitmap. Random transforms draw from the
/// <see cref="Random"/> they are given, which the pipeline seeds per image and epoch (reproducible, thread-safe).
/// </summary>
public abstract class ImageTransform
{
    /// <summary>Returns the transformed image; may return <paramref name="image"/> itself. The caller disposes both.</summary>
    public abstract SKBitmap Apply(SKBitmap image, Random random);

    /// <summary>Draws <paramref name="source"/>'s <paramref name="sourceRect"/> into a new <paramref name="width"/> x <paramref name="height"/> bitmap with bilinear filtering.</summary>
    protected static SKBitmap Draw(SKBitmap source, SKRect sourceRect, int width, int height, Action<SKCanvas>? setup = null)
    {
        var result = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var canvas = new SKCanvas(result);
        canvas.Clear(SKColors.Black);
        setup?.Invoke(canvas);
        using var image = SKImage.FromBitmap(source);
        using var paint = new SKPaint { IsAntialias = true };
        canvas.DrawImage(image, sourceRect, new SKRect(0, 0, width, height), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None), paint);
        return result;
    }
}
