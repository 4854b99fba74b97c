using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Data;

/// <summary>A set of single-channel 8-bit images with integer class labels, held in memory.</summary>
public sealed class LabelledImages
{
    /// <summary>Creates the set; image and label counts must agree.</summary>
    /// <exception cref="ArgumentException">The counts differ or the images are not [count, rows, columns].</exception>
    public LabelledImages(IdxArray images, IdxArray labels, IReadOnlyList<string> classNames, string source)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.Shape.Count != 3)
        {
            throw new ArgumentException($"{source}: images must have shape [count, rows, columns], got [{string.Join(",", images.Shape)}].", nameof(images));
        }

        if (labels.Shape.Count != 1 || labels.Count != images.Count)
        {
            throw new ArgumentException($"{source}: {images.Count} images but labels of shape [{string.Join(",", labels.Shape)}].", nameof(labels));
        }

        int bad = Array.FindIndex(labels.Data, l => l >= classNames.Count);
        if (bad >= 0)
        {
            throw new ArgumentException($"{source}: label {labels.Data[bad]} at index {bad} is not a class (expected 0..{classNames.Count - 1}).", nameof(labels));
        }

        Images = images;
        Labels = labels;
        ClassNames = classNames;
        Source = source;
    }

    /// <summary>The images, [count, rows, columns], unsigned bytes.</summary>
    public IdxArray Images { get; }

    /// <summary>The labels, [count], class indices.</summary>
    public IdxArray Labels { get; }

    /// <summary>The class names, indexed by label.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Where the data came from (a folder, or the embedded subset).</summary>
    public string Source { get; }

    /// <summary>Number of images.</summary>
    public int Count => Images.Count;

    /// <summary>Image height in pixels.</summary>
    public int Rows => Images.Shape[1];

    /// <summary>Image width in pixels.</summary>
    public int Columns => Images.Shape[2];

    /// <summary>Image <paramref name="index"/> as an 8-bit grayscale bitmap (the caller disposes it).</summary>
    public SKBitmap Bitmap(int index)
    {
        int pixels = Rows * Columns;
        var bitmap = new SKBitmap(new SKImageInfo(Columns, Rows, SKColorType.Gray8, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(Images.Data, index * pixels, bitmap.GetPixels(), pixels);
        return bitmap;
    }

    /// <summary>
    /// The first <paramref name="count"/> (default all) images as a float32 tensor [N, 1, rows, columns] scaled to [0, 1]
    /// and the labels as int64 [N], on the CPU.
    /// </summary>
    public (Tensor Images, Tensor Labels) ToTensors(int? count = null)
    {
        int n = Math.Min(count ?? Count, Count);
        int pixels = Rows * Columns;
        using var scope = NewDisposeScope();
        var raw = tensor(Images.Data.AsSpan(0, n * pixels).ToArray(), new long[] { n, 1, Rows, Columns });
        var x = raw.to(ScalarType.Float32).div_(255f);
        var y = tensor(Labels.Data.AsSpan(0, n).ToArray().Select(b => (long)b).ToArray(), new long[] { n });
        return (x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }
}
