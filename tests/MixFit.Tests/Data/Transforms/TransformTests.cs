using MixFit.Data.Transforms;
using MixFit.Tests.Support;
using SkiaSharp;

namespace MixFit.Tests.Data.Transforms;

public class TransformTests
{
    private static readonly Random Seeded = new(1);

    [Fact]
    public void Resize_is_bilinear_not_nearest()
    {
        using var source = TestImages.TwoTone(2, 1);
        using var resized = new Resize(4, 1).Apply(source, Seeded);
        Assert.Equal(4, resized.Width);

        // Bilinear blends red and blue around the edge; nearest would keep pure colours everywhere.
        var inner = resized.GetPixel(1, 0);
        Assert.InRange(inner.Blue, 20, 235);
        Assert.InRange(inner.Red, 20, 235);
    }

    [Fact]
    public void Resize_center_crop_keeps_the_middle_of_a_wide_image()
    {
        using var source = TestImages.TwoTone(40, 20);
        using var result = new ResizeCenterCrop(10, 10).Apply(source, Seeded);
        Assert.Equal((10, 10), (result.Width, result.Height));
        Assert.InRange(result.GetPixel(1, 5).Red, 200, 255);
        Assert.InRange(result.GetPixel(8, 5).Blue, 200, 255);
    }

    [Fact]
    public void A_certain_flip_mirrors_left_and_right()
    {
        using var source = TestImages.TwoTone(4, 2);
        using var flipped = new RandomHorizontalFlip(1.0).Apply(source, Seeded);
        Assert.Equal(new SKColor(0, 0, 255), flipped.GetPixel(0, 0));
        Assert.Equal(new SKColor(255, 0, 0), flipped.GetPixel(3, 1));
        Assert.Same(source, new RandomHorizontalFlip(0.0).Apply(source, Seeded));
    }

    [Fact]
    public void Random_crop_with_padding_keeps_the_requested_size_and_can_reach_the_border()
    {
        using var source = TestImages.TwoTone(8, 8);
        bool sawBlack = false;
        for (int seed = 0; seed < 20; seed++)
        {
            using var crop = new RandomCrop(8, 8, padding: 2).Apply(source, new Random(seed));
            Assert.Equal((8, 8), (crop.Width, crop.Height));
            sawBlack |= crop.GetPixel(0, 0) == SKColors.Black || crop.GetPixel(7, 7) == SKColors.Black;
        }

        Assert.True(sawBlack);
    }

    [Fact]
    public void Random_resized_crop_and_rotation_keep_sizes_and_are_reproducible_by_seed()
    {
        using var source = TestImages.TwoTone(30, 20);
        using var a = new RandomResizedCrop(16).Apply(source, new Random(3));
        using var b = new RandomResizedCrop(16).Apply(source, new Random(3));
        Assert.Equal((16, 16), (a.Width, a.Height));
        Assert.Equal(a.Bytes, b.Bytes);
        using var rotated = new RandomRotation(10).Apply(source, new Random(2));
        Assert.Equal((30, 20), (rotated.Width, rotated.Height));
    }

    [Fact]
    public void Rotation_turns_the_content_about_the_centre_by_the_seeded_angle()
    {
        // A red left half and a blue right half: turned by about 80 degrees the boundary becomes nearly horizontal,
        // so the top edge's middle turns one colour and the bottom edge's middle the other, and the centre keeps its place.
        using var source = TestImages.TwoTone(40, 40);
        var random = new Random(10);
        double angle = (random.NextDouble() * 2 - 1) * 80;
        using var rotated = new RandomRotation(80).Apply(source, new Random(10));
        using var again = new RandomRotation(80).Apply(source, new Random(10));
        Assert.Equal(rotated.Bytes, again.Bytes);
        Assert.NotEqual(source.Bytes, rotated.Bytes);
        Assert.True(Math.Abs(angle) > 45, $"seed 10 gives {angle:F1} degrees; pick a seed with a large angle");
        var top = rotated.GetPixel(20, 2);
        var bottom = rotated.GetPixel(20, 37);
        Assert.NotEqual(top, bottom);
        Assert.Equal(source.GetPixel(20, 20), rotated.GetPixel(20, 20));
        using var unrotated = new RandomRotation(0).Apply(source, new Random(7));
        Assert.Equal(source.Bytes, unrotated.Bytes);
    }

    [Fact]
    public void Brightness_jitter_scales_pixel_values()
    {
        using var grey = new SKBitmap(new SKImageInfo(2, 2, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        grey.Erase(new SKColor(100, 100, 100));
        var values = Enumerable.Range(0, 10).Select(seed =>
        {
            using var result = new ColorJitter(brightness: 0.5).Apply(grey, new Random(seed));
            return (int)result.GetPixel(0, 0).Red;
        }).ToList();
        Assert.All(values, v => Assert.InRange(v, 49, 151));
        Assert.True(values.Distinct().Count() > 3);
    }
}
