using MixFit.Applications;
using MixFit.Data;
using MixFit.IO;
using MixFit.Precision;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Experiments;

/// <summary>
/// <c>mixfit embed</c>: the pooled features of every image (what ML.NET's DnnImageFeaturizer does), written as CSV
/// (<c>image,f0,...</c>) or NumPy <c>.npy</c> (float32 [images, features], with the image names in
/// <c>&lt;output&gt;.images.txt</c>). The first step of many transfer-learning workflows.
/// </summary>
public static class EmbeddingJob
{
    /// <summary>Runs the job; returns the number of images embedded.</summary>
    /// <exception cref="ArgumentException">Bad options (the message names them).</exception>
    /// <exception cref="FileNotFoundException">The data, weights or ONNX file is missing.</exception>
    public static int Run(EmbedOptions options, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        string extension = Path.GetExtension(options.Output).ToLowerInvariant();
        if (extension is not (".csv" or ".npy"))
        {
            throw new ArgumentException($"-o {options.Output}: write features to a .csv or a .npy file.");
        }

        // Checked before any work: neither output (the features, and the names beside a .npy) is an input or inside the images.
        string imagesFolder = File.Exists(options.Data) ? options.Images ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.Data))!, "images") : options.Data;
        foreach (var written in extension == ".npy" ? new[] { options.Output, options.Output + ".images.txt" } : new[] { options.Output })
        {
            OutputPaths.Refuse(
                written, "-o", new (string?, string)[] { (options.Data, "the --data CSV"), (options.Onnx, "the --onnx model"), (options.Weights, "the --weights file") },
                new (string?, string)[] { (imagesFolder, "the images folder") });
        }

        log.WriteLine($"Embedding {options.Data} with {Describe(options)} (loading the model)...");
        var (extractor, imageSize, normalization) = Extractor(options);
        var dataset = Images(options);
        int channels = (extractor as OnnxBackbone)?.Channels ?? 3;
        var pipeline = ExperimentData.Pipeline(dataset, imageSize, channels, options.BatchSize, normalization);
        using var scope = NewDisposeScope();
        Tensor features;
        if (extractor.parameters().Any())
        {
            using var trainer = new Trainer(extractor, options.Device.Resolve());
            trainer.Compile(new CompileOptions { Policy = options.Policy, Loss = "mse" });
            features = trainer.Predict(pipeline);
        }
        else
        {
            // A graph without weights (a preprocessing graph, say): nothing to train or convert, run it as it is.
            extractor.eval();
            using var _ = no_grad();
            features = cat(pipeline.ScopedBatches(0).Select(b => extractor.call(b.X).to(ScalarType.Float32).cpu().MoveToOuterDisposeScope()).ToList(), 0);
        }
        var names = dataset.Records.Select(r => r.Name).ToArray();
        string? folder = Path.GetDirectoryName(Path.GetFullPath(options.Output));
        Directory.CreateDirectory(folder!);
        if (extension == ".csv")
        {
            FeatureFiles.WriteCsv(options.Output, names, features);
        }
        else
        {
            FeatureFiles.WriteNpy(options.Output, features);
            FeatureFiles.WriteNames(options.Output + ".images.txt", names);
        }

        log.WriteLine($"Wrote {features.shape[1]} features of {names.Length} images ({imageSize}x{imageSize}, {options.Policy.Name}) to {options.Output}{(extension == ".npy" ? $" (image names in {options.Output}.images.txt)" : "")}.");
        return names.Length;
    }

    private static string Describe(EmbedOptions options) =>
        options.Onnx is { } onnx ? Path.GetFileName(onnx) : $"{options.Model.Name}{(options.Weights is { } w ? $" ({w})" : "")}";

    private static (FeatureExtractor Extractor, int ImageSize, PixelNormalization Normalization) Extractor(EmbedOptions options)
    {
        if (options.Onnx is { } onnx)
        {
            var graph = OnnxBackbone.Load(onnx);
            return (graph, options.ImageSize ?? graph.ImageSize ?? 224, PixelNormalization.UnitRange);
        }

        if (ModelDescriptor.IsBuiltInWeights(options.Weights))
        {
            int size = options.ImageSize ?? PretrainedModels.ResNet18ImageSize;
            return (options.Model.BuiltInBase(options.Weights!, 3, size), size, PixelNormalization.UnitRange);
        }

        if (options.Model.Backbone is not { } kind)
        {
            throw new ArgumentException($"--model {options.Model.Name} is not a backbone; embed takes resnet18 (with --weights imagenet), another backbone with a weights file, or --onnx FILE.");
        }

        if (options.Weights is not { } file)
        {
            throw new ArgumentException($"--model {options.Model.Name} without --weights would embed with random weights; pass --weights FILE (or imagenet for resnet18).");
        }

        var backbone = Backbone.Create(kind);
        WeightLoader.Load(backbone, file, new WeightLoadOptions { SkipClassifier = true });
        return (backbone, options.ImageSize ?? options.Model.DefaultImageSize, PixelNormalization.ImageNet);
    }

    /// <summary>A CSV's images; a folder's train.csv; or every image file under a folder (sorted by path).</summary>
    private static ImageDataset Images(EmbedOptions options)
    {
        string data = options.Data;
        if (File.Exists(data))
        {
            string images = options.Images ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(data))!, "images");
            return ImageDataset.FromCsv(data, images, new CsvDatasetOptions { LabelColumn = null });
        }

        if (!Directory.Exists(data))
        {
            throw new FileNotFoundException($"--data {data}: no such file or folder (expected a CSV with an image column, or a folder of images).", data);
        }

        if (File.Exists(Path.Combine(data, "train.csv")))
        {
            return ImageDataset.FromCsv(Path.Combine(data, "train.csv"), options.Images ?? Path.Combine(data, "images"), new CsvDatasetOptions { LabelColumn = null });
        }

        string root = Path.GetFullPath(data);
        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => ImageDataset.IsImageFile(f))
            .Order(StringComparer.Ordinal)
            .Select((f, i) => new ImageRecord(f, null, Path.GetRelativePath(root, f).Replace('\\', '/'), i + 1))
            .ToList();
        if (files.Count == 0)
        {
            throw new ArgumentException($"--data {data}: the folder holds no images (.png, .jpg, .jpeg, .webp, .gif, .bmp).");
        }

        return new ImageDataset(files, null, source: root);
    }
}
