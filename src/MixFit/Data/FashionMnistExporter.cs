using System.Globalization;
using System.Text;
using SkiaSharp;

namespace MixFit.Data;

/// <summary>
/// Writes Fashion-MNIST (or its first N images) in the article's layout: <c>images/NNNNN.png</c>, a CSV with
/// <c>image,category</c>, and <c>label_map.json</c> (category ids 0..9 to class names), so the image-folder pipeline
/// runs on real images.
/// </summary>
public static class FashionMnistExporter
{
    /// <summary>
    /// Exports <paramref name="data"/> (all, or the first <paramref name="count"/>) into <paramref name="directory"/>.
    /// Images of a CSV other than <c>train.csv</c> carry its name (<c>images/test-00000.png</c> for <c>test.csv</c>), so
    /// the test split exported into the training folder never overwrites a training image.
    /// </summary>
    /// <returns>The CSV's path.</returns>
    public static string Export(LabelledImages data, string directory, int? count = null, string csvName = "train.csv")
    {
        ArgumentNullException.ThrowIfNull(data);
        int n = Math.Min(count ?? data.Count, data.Count);
        string images = Path.Combine(directory, "images");
        Directory.CreateDirectory(images);
        var csv = new StringBuilder("image,category\n");
        string prefix = string.Equals(csvName, "train.csv", StringComparison.OrdinalIgnoreCase) ? "" : Path.GetFileNameWithoutExtension(csvName) + "-";
        for (int i = 0; i < n; i++)
        {
            string name = prefix + i.ToString("00000", CultureInfo.InvariantCulture) + ".png";
            using (var bitmap = data.Bitmap(i))
            {
                using var image = SKImage.FromBitmap(bitmap);
                using var encoded = image.Encode(SKEncodedImageFormat.Png, 100);
                using var file = File.Create(Path.Combine(images, name));
                encoded.SaveTo(file);
            }

            csv.Append(name).Append(',').Append(data.Labels.Data[i].ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        string csvPath = Path.Combine(directory, csvName);
        File.WriteAllText(csvPath, csv.ToString());
        new LabelMap(data.ClassNames.Select((name, index) => (index.ToString(CultureInfo.InvariantCulture), name))).Save(Path.Combine(directory, "label_map.json"));
        return csvPath;
    }
}
