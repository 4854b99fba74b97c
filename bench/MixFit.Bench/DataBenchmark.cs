using System.Diagnostics;
using MixFit.Data;
using MixFit.Data.Transforms;
using MixFit.Precision;
using MixFit.Training;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Bench;

/// <summary>
/// Input-pipeline figures: decode + resize + augment throughput of 224x224 JPEGs with 1 and 2 workers, and the share
/// of Fit's step time spent waiting for data with prefetch on and off.
/// </summary>
internal static class DataBenchmark
{
    public static void Run(int images)
    {
        string root = Directory.CreateTempSubdirectory("mixfit-bench-data-").FullName;
        try
        {
            var large = MakeJpegs(root, "large", images, 224);
            Console.WriteLine();
            Console.WriteLine($"Input pipeline: {images} real Fashion-MNIST images upscaled to 224x224 RGB JPEG (quality 90)");
            var augment = new ImageTransform[] { new RandomResizedCrop(224), new RandomHorizontalFlip(), new ColorJitter(0.2, 0.2) };
            foreach (int workers in new[] { 1, 2 })
            {
                var pipeline = new ImagePipeline(large, new ImagePipelineOptions
                {
                    BatchSize = 32, Workers = workers, Prefetch = 0, Transforms = augment, Normalization = PixelNormalization.ImageNet,
                });
                Drain(pipeline, 0);
                var watch = Stopwatch.StartNew();
                int count = Drain(pipeline, 1);
                Console.WriteLine($"  decode + random resized crop + flip + jitter, {workers} worker(s): {count / watch.Elapsed.TotalSeconds,7:F0} images/s");
            }

            var small = MakeJpegs(root, "small", 512, 64);
            Console.WriteLine($"Fit on resnet18 (64x64 JPEGs, batch 32, 16 steps/epoch, mixed_bfloat16): time waiting for data");
            foreach (int prefetch in new[] { 0, 2 })
            {
                var pipeline = new ImagePipeline(small, new ImagePipelineOptions { BatchSize = 32, Workers = 2, Prefetch = prefetch });
                using var trainer = new Trainer(torchvision.models.resnet18(num_classes: 10), CPU);
                trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16 });
                trainer.Fit(pipeline, new FitOptions { Epochs = 1, Verbose = 0 });
                pipeline.ResetStatistics();
                var watch = Stopwatch.StartNew();
                trainer.Fit(pipeline, new FitOptions { Epochs = 2, InitialEpoch = 1, Verbose = 0 });
                double total = watch.Elapsed.TotalSeconds;
                Console.WriteLine($"  prefetch {(prefetch == 0 ? "off" : $"{prefetch} batches")}: {1000 * total / 16,6:F1} ms/step, waiting {100 * pipeline.WaitSeconds / total,5:F1}% of the time");
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static int Drain(ImagePipeline pipeline, int epoch)
    {
        int count = 0;
        foreach (var batch in pipeline.GetBatches(epoch))
        {
            using var scope = NewDisposeScope();
            count += (int)batch.X.shape[0];
        }

        return count;
    }

    private static ImageDataset MakeJpegs(string root, string name, int count, int size)
    {
        var source = FashionMnist.LoadEmbedded(FashionMnistSplit.Train);
        string images = Path.Combine(root, name);
        Directory.CreateDirectory(images);
        var lines = new List<string> { "image,category" };
        for (int i = 0; i < count; i++)
        {
            using var gray = source.Bitmap(i);
            using var upscaled = gray.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque), new SKSamplingOptions(SKFilterMode.Linear));
            using var image = SKImage.FromBitmap(upscaled);
            using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
            File.WriteAllBytes(Path.Combine(images, $"{i:00000}.jpg"), data.ToArray());
            lines.Add($"{i:00000}.jpg,{source.Labels.Data[i]}");
        }

        string csv = Path.Combine(root, name + ".csv");
        File.WriteAllLines(csv, lines);
        return ImageDataset.FromCsv(csv, images);
    }
}
