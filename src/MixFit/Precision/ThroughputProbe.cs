using System.Diagnostics;
using MixFit.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>
/// Kernel throughput per dtype (a 512x512 matmul and a small conv): the detail behind <c>mixfit doctor</c>'s
/// training-step table. It does not decide anything: a kernel's speed does not predict a training step's (see
/// <see cref="MixFit.Training.StepProbe"/> and <c>PrecisionAdvice</c> (MixFit.Experiments)).
/// </summary>
public static class ThroughputProbe
{
    /// <summary>Measures matmul (512x512) and conv (4x32x32x32, 3x3) throughput per dtype on <paramref name="device"/>.</summary>
    /// <param name="device">Default: CUDA when available, else the CPU.</param>
    /// <param name="secondsPerCase">Time spent on each dtype and operation (at least one run).</param>
    public static IReadOnlyList<ThroughputResult> Measure(Device? device = null, double secondsPerCase = 0.3)
    {
        TorchRuntime.EnsureLoaded();
        device ??= TorchRuntime.DefaultDevice;
        var results = new List<ThroughputResult>();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16, ScalarType.Float16 })
        {
            using var scope = NewDisposeScope();
            var a = randn(512, 512, device: device).to(dtype);
            var b = randn(512, 512, device: device).to(dtype);
            results.Add(new ThroughputResult("matmul", dtype, Rate(() => a.matmul(b).Dispose(), 2.0 * 512 * 512 * 512, secondsPerCase, device)));
            var x = randn(4, 32, 32, 32, device: device).to(dtype);
            var w = randn(32, 32, 3, 3, device: device).to(dtype);
            results.Add(new ThroughputResult("conv2d", dtype, Rate(() => nn.functional.conv2d(x, w, padding: new long[] { 1, 1 }).Dispose(), 2.0 * 4 * 32 * 32 * 32 * 32 * 9, secondsPerCase, device)));
        }

        return results;
    }

    /// <summary>Each dtype's speed relative to float32 (geometric mean of matmul and conv).</summary>
    public static IReadOnlyDictionary<ScalarType, double> RelativeSpeed(IReadOnlyList<ThroughputResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        double Baseline(string op) => results.Single(r => r.Operation == op && r.DType == ScalarType.Float32).GigaflopsPerSecond;
        return results.GroupBy(r => r.DType).ToDictionary(
            g => g.Key,
            g => Math.Exp(g.Average(r => Math.Log(r.GigaflopsPerSecond / Baseline(r.Operation)))));
    }

    private static double Rate(Action run, double flops, double seconds, Device device)
    {
        run();
        Synchronize(device);

        // One synchronisation around the whole timed loop (a sync per run would measure launch latency on a GPU).
        var watch = Stopwatch.StartNew();
        int count = 0;
        do
        {
            for (int i = 0; i < 8; i++)
            {
                run();
            }

            count += 8;
            Synchronize(device);
        }
        while (watch.Elapsed.TotalSeconds < seconds);
        return flops * count / watch.Elapsed.TotalSeconds / 1e9;
    }

    private static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA)
        {
            cuda.synchronize(device);
        }
    }
}
