using SkiaSharp;

namespace MixFit.Data.Images;

/// <summary>
/// Decodes PNG, JPEG, WebP, GIF (first frame) and BMP files with SkiaSharp into RGBA bitmaps, turning a JPEG's EXIF
/// orientation into upright pixels. Corrupt, truncated or unsupported files raise an error naming the file.
/// </summary>
public static class ImageDecoder
{
    /// <summary>The largest image decoded by default: 64 megapixels (256 MB as RGBA).</summary>
    public const long DefaultMaxPixels = 64_000_000;

    /// <summary>Decodes <paramref name="path"/> into an upright RGBA bitmap (the caller disposes it).</summary>
    /// <param name="path">The image file.</param>
    /// <param name="maxPixels">Refuse images with more pixels than this, read from the header before anything is allocated. Default 64 megapixels.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Not a supported image, corrupt, truncated or larger than <paramref name="maxPixels"/>; the message names the file.</exception>
    public static SKBitmap Decode(string path, long maxPixels = DefaultMaxPixels)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Image file not found: {path}", path);
        }

        using var data = SKData.Create(path);
        using var codec = data is null ? null : SKCodec.Create(data);
        if (codec is null)
        {
            throw new InvalidDataException($"{path}: not a supported image (PNG, JPEG, WebP, GIF or BMP) or corrupt beyond recognition.");
        }

        long pixels = (long)codec.Info.Width * codec.Info.Height;
        if (pixels > maxPixels)
        {
            throw new InvalidDataException(
                $"{path}: {codec.Info.Width}x{codec.Info.Height} is {pixels / 1e6:F0} megapixels, over the limit of {maxPixels / 1e6:F0} (ImagePipelineOptions.MaxPixels raises it).");
        }

        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            string reason = result == SKCodecResult.IncompleteInput ? "truncated (the file ends before the image data does)" : $"could not be decoded ({result})";
            throw new InvalidDataException($"{path}: {reason}.");
        }

        var origin = codec.EncodedOrigin;
        if (origin == SKEncodedOrigin.TopLeft)
        {
            return bitmap;
        }

        using (bitmap)
        {
            return Orient(bitmap, origin);
        }
    }

    /// <summary>Applies an EXIF orientation so the result is upright.</summary>
    public static SKBitmap Orient(SKBitmap source, SKEncodedOrigin origin)
    {
        ArgumentNullException.ThrowIfNull(source);
        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int width = swap ? source.Height : source.Width;
        int height = swap ? source.Width : source.Height;
        var result = new SKBitmap(new SKImageInfo(width, height, source.ColorType, source.AlphaType));
        using var canvas = new SKCanvas(result);
        canvas.SetMatrix(OrientationMatrix(origin, source.Width, source.Height));
        canvas.DrawBitmap(source, 0, 0);
        return result;
    }

    private static SKMatrix OrientationMatrix(SKEncodedOrigin origin, int w, int h) => origin switch
    {
        SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
        SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
        SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
        SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
        SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),
        _ => SKMatrix.Identity,
    };
}
