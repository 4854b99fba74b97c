using MixFit.Data;
using SkiaSharp;

namespace MixFit.Data.Images;

/// <summary>Converts RGBA bitmaps into channels-first pixel arrays.</summary>
public static class Pixels
{
    /// <summary>Channels-first floats, normalised: <c>(p / 255 - mean) / std</c>.</summary>
    public static float[] ToFloats(SKBitmap image, int channels, PixelNormalization normalization)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(normalization);
        var bytes = ToBytes(image, channels);
        int plane = image.Width * image.Height;
        var result = new float[bytes.Length];
        for (int c = 0; c < channels; c++)
        {
            float mean = normalization.MeanOf(c);
            float inverseStd = 1f / normalization.StdOf(c);
            for (int i = 0; i < plane; i++)
            {
                result[(c * plane) + i] = ((bytes[(c * plane) + i] / 255f) - mean) * inverseStd;
            }
        }

        return result;
    }

    /// <summary>Channels-first bytes: RGB planes, or one ITU-R 601 luma plane (exact for grey pixels).</summary>
    public static byte[] ToBytes(SKBitmap image, int channels)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var rgba = image.ColorType == SKColorType.Rgba8888 ? null : image.Copy(SKColorType.Rgba8888);
        var source = (rgba ?? image).GetPixelSpan();
        int plane = image.Width * image.Height;
        var result = new byte[channels * plane];
        for (int i = 0; i < plane; i++)
        {
            byte r = source[(4 * i) + 0];
            byte g = source[(4 * i) + 1];
            byte b = source[(4 * i) + 2];
            if (channels == 1)
            {
                result[i] = (byte)(((299 * r) + (587 * g) + (114 * b) + 500) / 1000);
            }
            else
            {
                result[i] = r;
                result[plane + i] = g;
                result[(2 * plane) + i] = b;
            }
        }

        return result;
    }
}
