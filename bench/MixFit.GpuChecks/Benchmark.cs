using System.Diagnostics;
using MixFit.Applications;
using MixFit.Kernels;
using MixFit.Precision;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.GpuChecks;

/// <summary>One measured configuration: images per second through <c>Fit</c>, host reads per step, and the reference protocol.</summary>
/// <param name="Model">resnet50 or small-cnn.</param>
/// <param name="Policy">The policy (mixed_float16 with dynamic loss scaling).</param>
/// <param name="Batch">Images per step.</param>
/// <param name="ImageSize">Input height and width.</param>
/// <param name="Steps">Timed steps (after the warm-up fit).</param>
/// <param name="MsPerStep">Wall time per timed step, in milliseconds, the device synchronised at the end.</param>
/// <param name="ImagesPerSecond">Batch * steps / seconds.</param>
/// <param name="HostReads">Device-to-host reads in the whole timed fit: the first step's label check and the epoch's logs, whatever the number of steps.</param>
/// <param name="PeakAllocatedMb">libtorch's peak CUDA allocation during the timed fit, in MiB (null where the shim does not carry the statistics, e.g. on the CPU).</param>
/// <param name="ChannelsLast">Whether the model and inputs were in channels_last (NHWC) memory format.</param>
public sealed record BenchResult(string Model, string Policy, int Batch, int ImageSize, int Steps, double MsPerStep, double ImagesPerSecond, long HostReads, double? PeakAllocatedMb, bool ChannelsLast = false);

/// <summary>
/// The kit's throughput protocol, the same as <c>tools/gpu-kit/torch_amp_bench.py</c> runs in PyTorch: a fixed batch of
/// real images (Fashion-MNIST, resized, 3 channels) already on the device, SGD with momentum, a warm-up fit, then a
/// timed fit of N steps that ends with the epoch's read of the logs (a synchronisation).
/// </summary>
public static class Benchmark
{
    /// <summary>Measures <paramref name="model"/> under each policy.</summary>
    public static IReadOnlyList<BenchResult> Run(Device device, string model, int batch, int imageSize, int steps, int warmup, IEnumerable<(DTypePolicy Policy, bool ChannelsLast)> configurations, TextWriter log)
    {
        var descriptor = ModelDescriptor.Parse(model);
        int channels = descriptor.Name == "small-cnn" ? 1 : 3;
        var (hostX, hostY) = CheckData.Images(batch, channels, imageSize);
        using var x = hostX.to(device);
        using var y = hostY.to(device);
        var results = new List<BenchResult>();
        foreach (var (policy, channelsLast) in configurations)
        {
            manual_seed(11);
            using var trainer = new Trainer(descriptor.Build(10, channels, imageSize).Module, device);
            trainer.Compile(new CompileOptions
            {
                Policy = policy,
                Optimizer = new MixFit.Optimizers.OptimizerConfig { Name = "sgd", LearningRate = 0.01, Momentum = 0.9 },
                LossScale = policy == DTypePolicy.MixedFloat16 ? LossScaleOptions.Dynamic() : null,
                ChannelsLast = channelsLast,
            });
            trainer.Fit(new SameBatchSource(x, y, warmup), new FitOptions { Epochs = 1, Verbose = 0 });
            int gpu = device.type == TorchSharp.DeviceType.CUDA ? Math.Max(0, (int)device.index) : -1;
            if (gpu >= 0)
            {
                MixFit.Native.CudaMemory.ResetPeak(gpu);
            }

            long reads = HostReads.Count;
            var watch = Stopwatch.StartNew();
            trainer.Fit(new SameBatchSource(x, y, steps), new FitOptions { Epochs = 1, Verbose = 0 });
            double seconds = watch.Elapsed.TotalSeconds;
            var result = new BenchResult(descriptor.Name, policy.Name, batch, imageSize, steps, seconds * 1000 / steps, batch * steps / seconds, HostReads.Count - reads,
                gpu >= 0 && MixFit.Native.CudaMemory.Read(gpu) is { } memory ? memory.PeakAllocatedBytes / (1024.0 * 1024) : null, channelsLast);
            log.WriteLine($"  {result.Model} {result.Policy + (channelsLast ? " NHWC" : ""),-20} batch {batch} {imageSize}x{imageSize}: {result.MsPerStep,8:F1} ms/step {result.ImagesPerSecond,9:F1} img/s  {result.HostReads} host reads in {steps} steps{(result.PeakAllocatedMb is { } mb ? $", peak {mb:F0} MiB allocated" : "")}");
            results.Add(result);
        }

        return results;
    }
}
