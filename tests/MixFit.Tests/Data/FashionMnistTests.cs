using System.IO.Compression;
using MixFit.Data;
using TorchSharp;

namespace MixFit.Tests.Data;

public sealed class FashionMnistTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-idx-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory]
    [InlineData(FashionMnistSplit.Train, FashionMnist.EmbeddedTrainCount)]
    [InlineData(FashionMnistSplit.Test, FashionMnist.EmbeddedTestCount)]
    public void The_embedded_subset_has_real_28x28_images_of_all_ten_classes(FashionMnistSplit split, int count)
    {
        var data = FashionMnist.LoadEmbedded(split);
        Assert.Equal(count, data.Count);
        Assert.Equal(28, data.Rows);
        Assert.Equal(28, data.Columns);
        var perClass = data.Labels.Data.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(10, perClass.Count);
        Assert.All(perClass.Values, n => Assert.InRange(n, count / 20, count / 5));
        Assert.InRange(data.Images.Data.Average(b => b), 40, 110);
    }

    [Theory]
    [InlineData(FashionMnistSplit.Train, "c407c19496b306f56f0ed298ad5b11dbcfcc75fc631f4f8e3bc07b8000f1a88b", "630a374d65ffe2f321251c9e84474d5a90d464571a2a6418ad322c1d9a47fad6")]
    [InlineData(FashionMnistSplit.Test, "8d46efb2efae7259de048298adb99140d06082b91c430833a54d7ce30f21c9c9", "86fea14d645de73ec2f8e0e859add59c557ccdf73e3e419692220b128c15ec47")]
    public void The_embedded_subset_is_byte_for_byte_the_start_of_the_published_set(FashionMnistSplit split, string imagesSha256, string labelsSha256)
    {
        // The digests are of the first 6,000 (train) / 1,000 (test) images and labels of Zalando's published IDX files
        // (as Debian's dataset-fashion-mnist ships them), computed once with Python's gzip and hashlib: this holds
        // whether or not the full set is installed here.
        var embedded = FashionMnist.LoadEmbedded(split);
        Assert.Equal(imagesSha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(embedded.Images.Data)));
        Assert.Equal(labelsSha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(embedded.Labels.Data)));
    }

    [Fact]
    public void The_embedded_subset_is_the_start_of_the_full_set_when_that_is_installed()
    {
        var embedded = FashionMnist.LoadEmbedded(FashionMnistSplit.Test);
        var loaded = FashionMnist.Load(FashionMnistSplit.Test);
        Assert.Equal(FashionMnist.FullSetInstalled ? 10000 : 1000, loaded.Count);
        Assert.Equal(embedded.Images.Data, loaded.Images.Data.Take(embedded.Images.Data.Length));
        Assert.Equal(embedded.Labels.Data, loaded.Labels.Data.Take(embedded.Count));
    }

    [Fact]
    public void To_tensors_scales_pixels_to_unit_range_and_labels_to_int64()
    {
        var (x, y) = FashionMnist.LoadEmbedded(FashionMnistSplit.Test).ToTensors(16);
        Assert.Equal(new long[] { 16, 1, 28, 28 }, x.shape);
        Assert.Equal(torch.ScalarType.Float32, x.dtype);
        Assert.Equal(torch.ScalarType.Int64, y.dtype);
        Assert.InRange(x.min().item<float>(), 0, 0);
        Assert.InRange(x.max().item<float>(), 0.9f, 1f);
    }

    [Fact]
    public void A_truncated_idx_file_is_an_error_naming_the_file_and_the_shortfall()
    {
        string path = Path.Combine(dir, "train-images-idx3-ubyte.gz");
        WriteGz(path, new byte[] { 0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3 });
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadFile(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("1568", e.Message);
    }

    [Fact]
    public void A_file_with_the_wrong_magic_or_type_is_rejected()
    {
        string path = Path.Combine(dir, "labels.idx");
        File.WriteAllBytes(path, new byte[] { 0x1f, 0x8b, 8, 1, 0, 0, 0, 1 });
        Assert.Contains("not an IDX file", Assert.Throws<InvalidDataException>(() => IdxReader.ReadFile(path)).Message);
        File.WriteAllBytes(path, new byte[] { 0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0 });
        Assert.Contains("0x0d", Assert.Throws<InvalidDataException>(() => IdxReader.ReadFile(path)).Message);
    }

    [Fact]
    public void A_directory_without_the_files_names_the_missing_one()
    {
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.LoadDirectory(dir, FashionMnistSplit.Train));
        Assert.Contains("train-images-idx3-ubyte.gz", e.Message);
    }

    [Fact]
    public void A_small_valid_file_reads_back_exactly()
    {
        string images = Path.Combine(dir, "t10k-images-idx3-ubyte.gz");
        string labels = Path.Combine(dir, "t10k-labels-idx1-ubyte.gz");
        WriteGz(images, new byte[] { 0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 10, 20, 30, 40 });
        WriteGz(labels, new byte[] { 0, 0, 8, 1, 0, 0, 0, 2, 9, 0 });
        var data = FashionMnist.LoadDirectory(dir, FashionMnistSplit.Test);
        Assert.Equal(new[] { 2, 1, 2 }, data.Images.Shape);
        Assert.Equal(new byte[] { 10, 20, 30, 40 }, data.Images.Data);
        Assert.Equal(new byte[] { 9, 0 }, data.Labels.Data);
    }

    [Fact]
    public void Labels_outside_the_classes_are_rejected_naming_the_index()
    {
        string images = Path.Combine(dir, "t10k-images-idx3-ubyte.gz");
        string labels = Path.Combine(dir, "t10k-labels-idx1-ubyte.gz");
        WriteGz(images, new byte[] { 0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7 });
        WriteGz(labels, new byte[] { 0, 0, 8, 1, 0, 0, 0, 1, 12 });
        var e = Assert.Throws<ArgumentException>(() => FashionMnist.LoadDirectory(dir, FashionMnistSplit.Test));
        Assert.Contains("label 12 at index 0", e.Message);
    }

    private static void WriteGz(string path, byte[] bytes)
    {
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(bytes);
    }
}
