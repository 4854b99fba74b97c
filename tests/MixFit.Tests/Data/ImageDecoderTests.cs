using MixFit.Data.Images;
using MixFit.Tests.Support;
using SkiaSharp;

namespace MixFit.Tests.Data;

public sealed class ImageDecoderTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-img-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static void AssertTwoTone(SKBitmap image, int width, int height, int tolerance)
    {
        Assert.Equal(width, image.Width);
        Assert.Equal(height, image.Height);
        var left = image.GetPixel(0, height / 2);
        var right = image.GetPixel(width - 1, height / 2);
        Assert.InRange(left.Red, 255 - tolerance, 255);
        Assert.InRange(left.Blue, 0, tolerance);
        Assert.InRange(right.Blue, 255 - tolerance, 255);
        Assert.InRange(right.Red, 0, tolerance);
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Png, "png", 0)]
    [InlineData(SKEncodedImageFormat.Jpeg, "jpg", 40)]
    [InlineData(SKEncodedImageFormat.Webp, "webp", 40)]
    public void Skia_encoded_formats_decode_to_their_pixels(SKEncodedImageFormat format, string extension, int tolerance)
    {
        using var source = TestImages.TwoTone(16, 8);
        string path = TestImages.Write(Path.Combine(dir, "a." + extension), source, format);
        using var image = ImageDecoder.Decode(path);
        AssertTwoTone(image, 16, 8, tolerance);
    }

    [Fact]
    public void Bmp_decodes_exactly()
    {
        using var source = TestImages.TwoTone(6, 3);
        using var image = ImageDecoder.Decode(TestImages.WriteBmp(Path.Combine(dir, "a.bmp"), source));
        AssertTwoTone(image, 6, 3, 0);
    }

    [Fact]
    public void Gif_decodes_its_first_frame()
    {
        using var image = ImageDecoder.Decode(TestImages.WriteGif(Path.Combine(dir, "a.gif")));
        Assert.Equal(2, image.Width);
        Assert.Equal(1, image.Height);
        Assert.Equal(new SKColor(255, 0, 0), image.GetPixel(0, 0));
        Assert.Equal(new SKColor(0, 0, 255), image.GetPixel(1, 0));
    }

    [Fact]
    public void Jpeg_exif_orientation_6_is_rotated_upright()
    {
        using var source = TestImages.TwoTone(16, 8);
        using var image = ImageDecoder.Decode(TestImages.WriteJpegWithOrientation(Path.Combine(dir, "rot.jpg"), source, 6));

        // Orientation 6: the stored image must be turned 90 degrees clockwise; the red left half ends up on top.
        Assert.Equal(8, image.Width);
        Assert.Equal(16, image.Height);
        Assert.InRange(image.GetPixel(4, 1).Red, 200, 255);
        Assert.InRange(image.GetPixel(4, 14).Blue, 200, 255);
    }

    [Fact]
    public void A_truncated_png_is_an_error_naming_the_file()
    {
        using var source = TestImages.TwoTone(64, 64);
        string path = TestImages.Write(Path.Combine(dir, "cut.png"), source, SKEncodedImageFormat.Png);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(path).Dispose());
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void An_unsupported_or_corrupt_file_is_an_error_naming_the_file()
    {
        string path = Path.Combine(dir, "notes.jpg");
        File.WriteAllText(path, "this is not an image");
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(path).Dispose());
        Assert.Contains(path, e.Message);
        Assert.Contains("not a supported image", e.Message);
        Assert.Throws<FileNotFoundException>(() => ImageDecoder.Decode(Path.Combine(dir, "missing.png")));
    }
}
