using SkiaSharp;

namespace MixFit.Tests.Support;

/// <summary>Writes small image files of every supported format for decoder and pipeline tests.</summary>
public static class TestImages
{
    /// <summary>A <paramref name="width"/> x <paramref name="height"/> bitmap: left half red, right half blue.</summary>
    public static SKBitmap TwoTone(int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, x < width / 2 ? new SKColor(255, 0, 0) : new SKColor(0, 0, 255));
            }
        }

        return bitmap;
    }

    /// <summary>Encodes with Skia (PNG, JPEG, WebP).</summary>
    public static string Write(string path, SKBitmap bitmap, SKEncodedImageFormat format, int quality = 100)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    /// <summary>A 24-bit uncompressed BMP (Skia cannot encode BMP, so it is written by hand).</summary>
    public static string WriteBmp(string path, SKBitmap bitmap)
    {
        int w = bitmap.Width;
        int h = bitmap.Height;
        int rowSize = ((w * 3) + 3) & ~3;
        var bytes = new byte[54 + (rowSize * h)];
        bytes[0] = (byte)'B';
        bytes[1] = (byte)'M';
        BitConverter.GetBytes(bytes.Length).CopyTo(bytes, 2);
        BitConverter.GetBytes(54).CopyTo(bytes, 10);
        BitConverter.GetBytes(40).CopyTo(bytes, 14);
        BitConverter.GetBytes(w).CopyTo(bytes, 18);
        BitConverter.GetBytes(h).CopyTo(bytes, 22);
        BitConverter.GetBytes((short)1).CopyTo(bytes, 26);
        BitConverter.GetBytes((short)24).CopyTo(bytes, 28);
        BitConverter.GetBytes(rowSize * h).CopyTo(bytes, 34);
        for (int y = 0; y < h; y++)
        {
            int row = 54 + ((h - 1 - y) * rowSize);
            for (int x = 0; x < w; x++)
            {
                var c = bitmap.GetPixel(x, y);
                bytes[row + (3 * x)] = c.Blue;
                bytes[row + (3 * x) + 1] = c.Green;
                bytes[row + (3 * x) + 2] = c.Red;
            }
        }

        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A 2x1 GIF89a (red, blue), two frames; only the first frame is decoded. Hand-assembled (Skia cannot encode GIF).</summary>
    public static string WriteGif(string path)
    {
        var bytes = new List<byte>();
        bytes.AddRange("GIF89a"u8.ToArray());
        bytes.AddRange(new byte[] { 0x02, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00 }); // 2x1, global table of 2 colours
        bytes.AddRange(new byte[] { 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF });       // red, blue
        bytes.AddRange(FrameRedBlue());
        bytes.AddRange(FrameBlueRed());
        bytes.Add(0x3B);
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    // LZW (min code size 2) for pixel indices [0, 1]: clear(4), 0, 1, end(5) in 3-bit codes = 0b101_001_000_100 -> 0x44 0x0A.
    private static byte[] FrameRedBlue() => new byte[]
    {
        0x2C, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00,
        0x02, 0x02, 0x44, 0x0A, 0x00,
    };

    // Indices [1, 0]: clear(4), 1, 0, end(5) = 0b101_000_001_100 -> 0x0C 0x0A.
    private static byte[] FrameBlueRed() => new byte[]
    {
        0x2C, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00,
        0x02, 0x02, 0x0C, 0x0A, 0x00,
    };

    /// <summary>A JPEG with an EXIF APP1 segment whose Orientation tag is <paramref name="orientation"/>.</summary>
    public static string WriteJpegWithOrientation(string path, SKBitmap bitmap, ushort orientation)
    {
        using var image = SKImage.FromBitmap(bitmap);
        var jpeg = image.Encode(SKEncodedImageFormat.Jpeg, 100).ToArray();
        var tiff = new List<byte>();
        tiff.AddRange("II*\0"u8.ToArray());
        tiff.AddRange(BitConverter.GetBytes(8));               // IFD0 offset
        tiff.AddRange(BitConverter.GetBytes((ushort)1));       // one entry
        tiff.AddRange(BitConverter.GetBytes((ushort)0x0112));  // Orientation
        tiff.AddRange(BitConverter.GetBytes((ushort)3));       // SHORT
        tiff.AddRange(BitConverter.GetBytes(1));               // count
        tiff.AddRange(BitConverter.GetBytes(orientation));
        tiff.AddRange(new byte[2]);
        tiff.AddRange(BitConverter.GetBytes(0));               // no next IFD
        var app1 = new List<byte> { 0xFF, 0xE1 };
        int length = 2 + 6 + tiff.Count;
        app1.Add((byte)(length >> 8));
        app1.Add((byte)(length & 0xFF));
        app1.AddRange("Exif\0\0"u8.ToArray());
        app1.AddRange(tiff);
        var result = new List<byte>(jpeg[..2]);
        result.AddRange(app1);
        result.AddRange(jpeg[2..]);
        File.WriteAllBytes(path, result.ToArray());
        return path;
    }
}
