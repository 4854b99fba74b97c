using MixFit.Data;
using MixFit.Data.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Experiments;

/// <summary>
/// Training, validation and test data for the CLI's jobs: <c>fashion-mnist</c> (the embedded subset, or Debian's full
/// set when installed) or a folder in the article's layout (<c>train.csv</c> + <c>images/</c>, optionally a label map).
/// </summary>
public sealed class ExperimentData : IDisposable
{
    private readonly List<Tensor> owned = new();

    private ExperimentData(IBatchSource train, IBatchSource? validation, IBatchSource? test, LabelMap labels, int channels, string description)
    {
        Train = train;
        Validation = validation;
        Test = test;
        Labels = labels;
        Channels = channels;
        Description = description;
    }

    /// <summary>Training batches.</summary>
    public IBatchSource Train { get; }

    /// <summary>Validation batches, or null.</summary>
    public IBatchSource? Validation { get; }

    /// <summary>Test batches, or null.</summary>
    public IBatchSource? Test { get; }

    /// <summary>The classes.</summary>
    public LabelMap Labels { get; }

    /// <summary>How many training samples each class has (index = class), for <c>--class-weight balanced</c>.</summary>
    public IReadOnlyList<long> ClassCounts { get; private init; } = Array.Empty<long>();

    /// <summary>Channels of the batches.</summary>
    public int Channels { get; }

    /// <summary>How pixels became model inputs (recorded in the model spec, so prediction prepares images alike).</summary>
    public PixelNormalization Normalization { get; private init; } = PixelNormalization.UnitRange;

    /// <summary>What was loaded, for logs and run configs.</summary>
    public string Description { get; }

    /// <summary>Releases the in-memory images (Fashion-MNIST tensors).</summary>
    public void Dispose()
    {
        foreach (var t in owned)
        {
            t.Dispose();
        }

        owned.Clear();
    }

    /// <summary>Loads <paramref name="spec"/> for a model whose input channels <paramref name="channelsFor"/> gives (from the data's own channels), at <paramref name="imageSize"/> pixels.</summary>
    /// <exception cref="DirectoryNotFoundException">The data folder does not exist.</exception>
    public static ExperimentData Load(
        string spec, int imageSize, Func<int, int> channelsFor, int batchSize, double validationSplit, int seed, string? labelMapPath = null, int? limit = null, PixelNormalization? normalization = null)
    {
        if (string.Equals(spec, "fashion-mnist", StringComparison.OrdinalIgnoreCase))
        {
            return FashionMnistData(imageSize, channelsFor(1), batchSize, validationSplit, seed, limit);
        }

        if (!Directory.Exists(spec))
        {
            throw new DirectoryNotFoundException($"Data folder not found: {spec} (expected \"fashion-mnist\" or a folder with train.csv and images/).");
        }

        string csv = Path.Combine(spec, "train.csv");
        string images = Path.Combine(spec, "images");
        var map = labelMapPath is not null ? LabelMap.Load(labelMapPath)
            : File.Exists(Path.Combine(spec, "label_map.json")) ? LabelMap.Load(Path.Combine(spec, "label_map.json")) : null;
        var dataset = ImageDataset.FromCsv(csv, images, new CsvDatasetOptions { LabelMap = map });
        if (limit is { } n)
        {
            dataset = dataset.Take(n);
        }

        int channels = channelsFor(3);
        var options = new ImagePipelineOptions
        {
            BatchSize = batchSize, Seed = seed, Channels = channels, Workers = Math.Max(1, Environment.ProcessorCount),
            Transforms = new ImageTransform[] { new Resize(imageSize, imageSize), new RandomHorizontalFlip() },
            Normalization = normalization ?? (channels == 3 ? PixelNormalization.ImageNet : PixelNormalization.UnitRange),
        };
        var evaluation = options with { Shuffle = false, Transforms = new ImageTransform[] { new Resize(imageSize, imageSize) } };
        if (validationSplit > 0)
        {
            var (train, validation) = dataset.Split(validationSplit, seed);
            return new ExperimentData(new ImagePipeline(train, options), new ImagePipeline(validation, evaluation), null, dataset.Labels!, channels, $"{spec} ({train.Count} train, {validation.Count} validation)")
            {
                ClassCounts = Count(train.Records.Select(r => r.Label ?? -1), dataset.Labels!.Count),
                Normalization = options.Normalization,
            };
        }

        return new ExperimentData(new ImagePipeline(dataset, options), null, null, dataset.Labels!, channels, $"{spec} ({dataset.Count} images)")
        {
            ClassCounts = Count(dataset.Records.Select(r => r.Label ?? -1), dataset.Labels!.Count),
            Normalization = options.Normalization,
        };
    }

    /// <summary>Builds a pipeline over an unlabelled CSV of images for prediction.</summary>
    public static (ImagePipeline Pipeline, ImageDataset Dataset) Unlabelled(string csv, string images, int imageSize, int channels, int batchSize, PixelNormalization? normalization = null)
    {
        var dataset = ImageDataset.FromCsv(csv, images, new CsvDatasetOptions { LabelColumn = null });
        return (Pipeline(dataset, imageSize, channels, batchSize, normalization), dataset);
    }

    /// <summary>An evaluation pipeline (no shuffling, no augmentation) over <paramref name="dataset"/>.</summary>
    public static ImagePipeline Pipeline(ImageDataset dataset, int imageSize, int channels, int batchSize, PixelNormalization? normalization = null)
    {
        var pipeline = new ImagePipeline(dataset, new ImagePipelineOptions
        {
            BatchSize = batchSize, Shuffle = false, Channels = channels, Transforms = new ImageTransform[] { new Resize(imageSize, imageSize) },
            Normalization = normalization ?? (channels == 3 ? PixelNormalization.ImageNet : PixelNormalization.UnitRange),
        });
        return pipeline;
    }

    private static ExperimentData FashionMnistData(int imageSize, int channels, int batchSize, double validationSplit, int seed, int? limit)
    {
        var train = FashionMnist.Load(FashionMnistSplit.Train);
        var test = FashionMnist.Load(FashionMnistSplit.Test);
        var (x, y) = train.ToTensors(limit);
        var (testX, testY) = test.ToTensors(limit is { } n ? Math.Max(100, n / 6) : null);
        x.DetachFromDisposeScope();
        y.DetachFromDisposeScope();
        testX.DetachFromDisposeScope();
        testY.DetachFromDisposeScope();
        var source = new TensorBatchSource(x, y, batchSize, shuffle: true, seed: seed);
        IBatchSource trainSource = source;
        IBatchSource? validation = null;
        var views = new List<Tensor>();
        long trained = y.shape[0];
        if (validationSplit > 0)
        {
            var (t, v) = source.SplitLast(validationSplit, batchSize);
            trained = t.X.shape[0];
            trainSource = t;
            validation = v;
            views.AddRange(new[] { t.X, t.Y!, v.X, v.Y! });
        }

        IBatchSource testSource = new TensorBatchSource(testX, testY, batchSize);
        if (imageSize != 28 || channels != 1)
        {
            // Upsample and repeat channels per batch, so memory holds 28x28 images only.
            Batch Adapt(Batch b) => b with { X = Adapt28(b.X, imageSize, channels) };
            trainSource = new MappedBatchSource(trainSource, Adapt);
            validation = validation is null ? null : new MappedBatchSource(validation, Adapt);
            testSource = new MappedBatchSource(testSource, Adapt);
        }

        var labels = new LabelMap(FashionMnist.ClassNames.Select((name, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), name)));
        string description = $"Fashion-MNIST {(FashionMnist.FullSetInstalled ? "full set" : "embedded subset")}, {x.shape[0]} training images, {testX.shape[0]} test images";
        using var trainedLabels = y.narrow(0, 0, trained).cpu();
        var counts = Count(trainedLabels.data<long>().ToArray().Select(l => (int)l), labels.Count);
        var data = new ExperimentData(trainSource, validation, testSource, labels, channels, description) { ClassCounts = counts };
        data.owned.AddRange(views.Concat(new[] { x, y, testX, testY }));
        return data;
    }

    private static long[] Count(IEnumerable<int> labels, int classes)
    {
        var counts = new long[classes];
        foreach (int label in labels.Where(l => l >= 0 && l < classes))
        {
            counts[label]++;
        }

        return counts;
    }

    private static Tensor Adapt28(Tensor x, int size, int channels)
    {
        var resized = size == 28 ? x : nn.functional.interpolate(x, new long[] { size, size }, mode: InterpolationMode.Bilinear, align_corners: false);
        return channels == 1 ? resized : resized.expand(-1, channels, -1, -1).contiguous();
    }
}
