using MixFit.Data;
using MixFit.Tests.Support;
using SkiaSharp;

namespace MixFit.Tests.Data;

public sealed class ImageDatasetTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-ds-").FullName;

    public ImageDatasetTests()
    {
        Directory.CreateDirectory(Path.Combine(dir, "images"));
        using var bitmap = TestImages.TwoTone(8, 8);
        foreach (var name in new[] { "a.png", "b.png", "c.png", "d.png" })
        {
            TestImages.Write(Path.Combine(dir, "images", name), bitmap, SKEncodedImageFormat.Png);
        }
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Csv(string text)
    {
        string path = Path.Combine(dir, "train.csv");
        File.WriteAllText(path, text);
        return path;
    }

    private string Images => Path.Combine(dir, "images");

    [Fact]
    public void The_ship_label_map_turns_categories_one_to_five_into_classes_zero_to_four()
    {
        var data = ImageDataset.FromCsv(Csv("image,category\na.png,1\nb.png,5\nc.png,3\n"), Images, new CsvDatasetOptions { LabelMap = LabelMap.Ships });
        Assert.Equal(new int?[] { 0, 4, 2 }, data.Records.Select(r => r.Label));
        Assert.Equal("Tankers", data.Labels!.Names[4]);
        Assert.Equal("5", data.Labels.IdOf(4));
    }

    [Fact]
    public void Without_a_map_the_csvs_distinct_values_become_classes_in_numeric_order()
    {
        var data = ImageDataset.FromCsv(Csv("image,category\na.png,10\nb.png,2\nc.png,10\n"), Images);
        Assert.Equal(new[] { "2", "10" }, data.Labels!.Ids);
        Assert.Equal(new int?[] { 1, 0, 1 }, data.Records.Select(r => r.Label));
    }

    [Fact]
    public void A_label_map_round_trips_through_json_in_class_order()
    {
        string path = Path.Combine(dir, "labels.json");
        LabelMap.Ships.Save(path);
        var loaded = LabelMap.Load(path);
        Assert.Equal(LabelMap.Ships.Ids, loaded.Ids);
        Assert.Equal(LabelMap.Ships.Names, loaded.Names);
        File.WriteAllText(path, "[1, 2]");
        Assert.Contains("JSON object", Assert.Throws<InvalidDataException>(() => LabelMap.Load(path)).Message);
    }

    [Fact]
    public void A_missing_image_names_the_csv_line_and_the_file()
    {
        var e = Assert.Throws<InvalidDataException>(() => ImageDataset.FromCsv(Csv("image,category\na.png,1\nzz.png,1\n"), Images));
        Assert.Contains("train.csv:3", e.Message);
        Assert.Contains("image file not found", e.Message);
        Assert.Contains("zz.png", e.Message);
    }

    [Fact]
    public void An_unknown_category_names_the_line_value_and_known_ids()
    {
        var e = Assert.Throws<InvalidDataException>(() => ImageDataset.FromCsv(Csv("image,category\na.png,1\nb.png,7\n"), Images, new CsvDatasetOptions { LabelMap = LabelMap.Ships }));
        Assert.Contains("train.csv:3: unknown category (known: 1, 2, 3, 4, 5) (value \"7\")", e.Message);
    }

    [Fact]
    public void A_duplicate_image_name_points_at_its_first_line()
    {
        var e = Assert.Throws<InvalidDataException>(() => ImageDataset.FromCsv(Csv("image,category\na.png,1\nb.png,1\na.png,2\n"), Images));
        Assert.Contains("train.csv:4: duplicate image name (first listed on line 2)", e.Message);
    }

    [Fact]
    public void An_empty_dataset_is_refused()
    {
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => ImageDataset.FromCsv(Csv("image,category\n"), Images)).Message);
    }

    [Fact]
    public void Skip_bad_keeps_good_rows_and_lists_every_bad_one()
    {
        var data = ImageDataset.FromCsv(
            Csv("image,category\na.png,1\nmissing.png,1\nb.png,9\nc.png,2,x\nb.png,2\nd.png,2\n"), Images,
            new CsvDatasetOptions { LabelMap = LabelMap.Ships, SkipBad = true });
        Assert.Equal(new[] { "a.png", "b.png", "d.png" }, data.Records.Select(r => r.Name));
        Assert.Equal(new[] { 3, 4, 5 }, data.Problems.Select(p => p.Line).Order());
        Assert.Contains(data.Problems, p => p.Line == 3 && p.Reason.Contains("not found", StringComparison.Ordinal));
        Assert.Contains(data.Problems, p => p.Line == 4 && p.Reason.Contains("unknown category", StringComparison.Ordinal));
        Assert.Contains(data.Problems, p => p.Line == 5 && p.Reason.Contains("expected 2 fields", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unlabelled_test_csv_has_no_labels()
    {
        var data = ImageDataset.FromCsv(Csv("image\na.png\nb.png\n"), Images, new CsvDatasetOptions { LabelColumn = null });
        Assert.Null(data.Labels);
        Assert.All(data.Records, r => Assert.Null(r.Label));
    }

    [Fact]
    public void A_folder_per_class_layout_is_read_in_sorted_class_order()
    {
        string root = Path.Combine(dir, "folders");
        using var bitmap = TestImages.TwoTone(4, 4);
        foreach (var (cls, name) in new[] { ("dog", "1.png"), ("cat", "1.png"), ("cat", "2.jpg") })
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            TestImages.Write(Path.Combine(root, cls, name), bitmap, SKEncodedImageFormat.Png);
        }

        var data = ImageDataset.FromFolders(root);
        Assert.Equal(new[] { "cat", "dog" }, data.Labels!.Names);
        Assert.Equal(new[] { 2, 1 }, data.ClassCounts());
    }

    [Fact]
    public void The_split_is_stratified_and_the_same_for_the_same_seed()
    {
        var records = Enumerable.Range(0, 100).Select(i => new ImageRecord($"/x/{i}.png", i < 80 ? 0 : 1, $"{i}.png", i + 2)).ToList();
        var data = new ImageDataset(records, new LabelMap(new[] { ("a", "a"), ("b", "b") }));
        var (train, validation) = data.Split(0.25, seed: 3);
        Assert.Equal(new[] { 20, 5 }, validation.ClassCounts());
        Assert.Equal(new[] { 60, 15 }, train.ClassCounts());
        Assert.Empty(train.Records.Intersect(validation.Records));
        Assert.Equal(validation.Records, data.Split(0.25, seed: 3).Validation.Records);
        Assert.NotEqual(validation.Records, data.Split(0.25, seed: 4).Validation.Records);
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Split(1.0));
    }
}
