using MixFit.Applications;
using MixFit.Data;
using MixFit.Data.Transforms;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Tests.Data;

public sealed class ImagePipelineTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-pipe-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>The first <paramref name="count"/> embedded Fashion-MNIST test images exported as PNG + CSV.</summary>
    private ImageDataset Exported(int count, out LabelledImages source)
    {
        source = FashionMnist.LoadEmbedded(FashionMnistSplit.Test);
        string csv = FashionMnistExporter.Export(source, dir, count);
        return ImageDataset.FromCsv(csv, Path.Combine(dir, "images"), new CsvDatasetOptions { LabelMap = LabelMap.Load(Path.Combine(dir, "label_map.json")) });
    }

    [Fact]
    public void The_exporter_round_trip_gives_back_the_same_pixels_and_labels()
    {
        var dataset = Exported(40, out var source);
        Assert.Equal(FashionMnist.ClassNames, dataset.Labels!.Names);
        var pipeline = new ImagePipeline(dataset, new ImagePipelineOptions { BatchSize = 16, Shuffle = false, Channels = 1, OutputDType = ScalarType.Byte, Workers = 2 });
        var pixels = new List<byte>();
        var labels = new List<long>();
        foreach (var batch in pipeline.GetBatches(0))
        {
            Assert.Equal(ScalarType.Byte, batch.X.dtype);
            Assert.Equal(new long[] { 1, 28, 28 }, batch.X.shape[1..]);
            pixels.AddRange(batch.X.data<byte>().ToArray());
            labels.AddRange(batch.Y!.data<long>().ToArray());
        }

        Assert.Equal(source.Images.Data.Take(40 * 784), pixels);
        Assert.Equal(source.Labels.Data.Take(40).Select(b => (long)b), labels);
    }

    [Fact]
    public void Fit_trains_one_epoch_on_the_exported_folder()
    {
        var (train, validation) = Exported(300, out _).Split(0.2, seed: 1);
        var options = new ImagePipelineOptions { BatchSize = 32, Channels = 1, Workers = 2, Transforms = new ImageTransform[] { new RandomHorizontalFlip() } };
        var trainPipeline = new ImagePipeline(train, options);
        var validationPipeline = new ImagePipeline(validation, options with { Shuffle = false, Transforms = Array.Empty<ImageTransform>() });
        using var trainer = new Trainer(SmallCnn.Create(), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16, Metrics = new[] { "accuracy" } });
        double untrained = trainer.Evaluate(validationPipeline, verbose: 0)["loss"];
        var history = trainer.Fit(trainPipeline, new FitOptions { Epochs = 1, Verbose = 0, ValidationData = validationPipeline });
        Assert.True(double.IsFinite(history["loss"][0]));

        // The folder's labels are the images' real classes: one epoch on them already lowers the held-out loss.
        Assert.True(history["val_loss"][0] < untrained - 0.1, $"val_loss {history["val_loss"][0]:F3} vs {untrained:F3} untrained");
        Assert.Equal(trainPipeline.BatchesPerEpoch, (int)Math.Ceiling(240 / 32.0));
    }

    [Fact]
    public void Each_epoch_is_reshuffled_and_an_epoch_always_gets_the_same_order()
    {
        var dataset = Exported(30, out _);
        var pipeline = new ImagePipeline(dataset, new ImagePipelineOptions { Seed = 4 });
        Assert.Equal(pipeline.Order(0), pipeline.Order(0));
        Assert.NotEqual(pipeline.Order(0), pipeline.Order(1));
        Assert.Equal(Enumerable.Range(0, 30), pipeline.Order(1).Order());
        Assert.Equal(Enumerable.Range(0, 30), new ImagePipeline(dataset, new ImagePipelineOptions { Shuffle = false }).Order(5));
    }

    [Fact]
    public void Prefetch_never_holds_more_than_k_batches()
    {
        var dataset = Exported(80, out _);
        var pipeline = new ImagePipeline(dataset, new ImagePipelineOptions { BatchSize = 4, Prefetch = 2, Workers = 2, Channels = 1 });
        int batches = 0;
        foreach (var batch in pipeline.GetBatches(0))
        {
            if (batches++ == 0)
            {
                // Hold the first batch until the producer has filled the buffer (a gate, not a guess at timing), then
                // give an unbounded producer every chance to run past it before consuming the rest.
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                while (pipeline.PeakBufferedBatches < 2 && DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(5);
                }

                Assert.Equal(2, pipeline.PeakBufferedBatches);
                Thread.Sleep(200);
            }
        }

        Assert.Equal(20, batches);
        Assert.Equal(2, pipeline.PeakBufferedBatches);
    }

    [Fact]
    public void A_corrupt_image_surfaces_on_the_consuming_thread_naming_the_file()
    {
        var dataset = Exported(40, out _);
        string bad = dataset.Records[25].Path;
        File.WriteAllText(bad, "corrupted");
        var pipeline = new ImagePipeline(dataset, new ImagePipelineOptions { BatchSize = 8, Shuffle = false, Prefetch = 2, Workers = 2, Channels = 1 });
        int consumed = 0;
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            foreach (var batch in pipeline.GetBatches(0))
            {
                consumed++;
            }
        });
        Assert.Contains(bad, e.Message);
        Assert.Equal(3, consumed);
    }

    [Fact]
    public void Skip_bad_leaves_out_a_corrupt_image_and_lists_it_in_the_summary()
    {
        var dataset = Exported(20, out _);
        string bad = dataset.Records[5].Path;
        File.WriteAllBytes(bad, File.ReadAllBytes(bad)[..30]);
        var pipeline = new ImagePipeline(dataset, new ImagePipelineOptions { BatchSize = 10, Shuffle = false, SkipBad = true, Channels = 1 });
        var sizes = pipeline.GetBatches(0).Select(b => b.X.shape[0]).ToList();
        Assert.Equal(new long[] { 9, 10 }, sizes);
        var problem = Assert.Single(pipeline.Problems);
        Assert.Equal(bad, problem.File);
        Assert.Contains(bad, pipeline.Summary());
        Assert.StartsWith("1 bad input(s) skipped:", pipeline.Summary());
    }

    [Fact]
    public async Task Leaving_an_epoch_early_stops_the_background_work_without_deadlock()
    {
        var dataset = Exported(60, out _);
        var pipeline = new ImagePipeline(dataset, new ImagePipelineOptions { BatchSize = 4, Prefetch = 1, Channels = 1 });
        var task = Task.Run(() => pipeline.GetBatches(0).Take(2).Count());
        Assert.Same(task, await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30))));
        Assert.Equal(2, await task);
        Assert.Equal(15, pipeline.GetBatches(1).Count());
    }

    [Fact]
    public void Cached_images_are_decoded_once_and_survive_their_files()
    {
        var dataset = Exported(24, out var source);
        var pipeline = new ImagePipeline(dataset, new ImagePipelineOptions { BatchSize = 8, CacheDecoded = true, Channels = 1, OutputDType = ScalarType.Byte, Shuffle = false });
        var first = pipeline.GetBatches(0).SelectMany(b => b.X.data<byte>().ToArray()).ToArray();
        foreach (var record in dataset.Records)
        {
            File.Delete(record.Path);
        }

        var second = pipeline.GetBatches(1).SelectMany(b => b.X.data<byte>().ToArray()).ToArray();
        Assert.Equal(first, second);
        Assert.Equal(source.Images.Data.Take(24 * 784), second);
    }

    [Fact]
    public void Balanced_sampling_draws_every_class_about_equally()
    {
        var records = Enumerable.Range(0, 1000).Select(i => new ImageRecord($"/x/{i}.png", i < 900 ? 0 : 1, $"{i}", 0)).ToList();
        var dataset = new ImageDataset(records, new LabelMap(new[] { ("a", "a"), ("b", "b") }));
        var order = new ImagePipeline(dataset, new ImagePipelineOptions { Sampling = SamplingMode.Balanced, Seed = 1 }).Order(0);
        Assert.Equal(1000, order.Length);
        int rare = order.Count(i => i >= 900);
        Assert.InRange(rare, 430, 570);
    }

    [Fact]
    public void Images_are_normalised_channels_first_in_the_requested_dtype()
    {
        var dataset = Exported(8, out var source);
        var pipeline = new ImagePipeline(dataset, new ImagePipelineOptions
        {
            BatchSize = 8, Shuffle = false, Channels = 3, Normalization = PixelNormalization.ImageNet, OutputDType = ScalarType.BFloat16,
            Transforms = new ImageTransform[] { new Resize(32, 32) },
        });
        var batch = pipeline.GetBatches(0).Single();
        Assert.Equal(ScalarType.BFloat16, batch.X.dtype);
        Assert.Equal(new long[] { 8, 3, 32, 32 }, batch.X.shape);

        // A black corner pixel normalises to -mean/std per channel.
        var corner = batch.X[0, .., 0, 0].to(ScalarType.Float32).data<float>().ToArray();
        Assert.Equal(-0.485f / 0.229f, corner[0], 1e-2f);
        Assert.Equal(-0.406f / 0.225f, corner[2], 1e-2f);
    }

    [Fact]
    public void Mixed_image_sizes_without_a_resize_name_the_odd_file()
    {
        string images = Path.Combine(dir, "mixed");
        Directory.CreateDirectory(images);
        using (var small = TestImages.TwoTone(4, 4))
        using (var large = TestImages.TwoTone(8, 8))
        {
            TestImages.Write(Path.Combine(images, "a.png"), small, SKEncodedImageFormat.Png);
            TestImages.Write(Path.Combine(images, "b.png"), large, SKEncodedImageFormat.Png);
        }

        File.WriteAllText(Path.Combine(dir, "mixed.csv"), "image,category\na.png,1\nb.png,2\n");
        var dataset = ImageDataset.FromCsv(Path.Combine(dir, "mixed.csv"), images);
        var pipeline = new ImagePipeline(dataset, new ImagePipelineOptions { Shuffle = false, Prefetch = 0 });
        var e = Assert.Throws<InvalidDataException>(() => pipeline.GetBatches(0).ToList());
        Assert.Contains("b.png", e.Message);
        Assert.Contains("add a Resize transform", e.Message);
    }
}
