using System.Diagnostics;
using MixFit.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>
/// Measures, in a few seconds, how fast this device multiplies matrices and convolves in float32, bfloat16 and
/// float16, and recommends a policy from the measurement (not from the spec sheet): half precision only pays off where
/// it is actually faster here.
/// </summary>
public static class PrecisionProbe
{
    /// <summary>A policy's compute dtype slower than this fraction of float32 is "far slower" (compare skips it unless forced).</summary>
    public const double FarSlower = 0.25;

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

    /// <summary>The policy to use on this device and why, from measured speeds.</summary>
    public static (DTypePolicy Policy, string Reason) Recommend(IReadOnlyList<ThroughputResult> results, bool cuda)
    {
        var speed = RelativeSpeed(results);
        double bf16 = speed[ScalarType.BFloat16];
        double fp16 = speed[ScalarType.Float16];
        if (bf16 <= 1.05 && fp16 <= 1.05)
        {
            return (DTypePolicy.Float32, $"bfloat16 runs at {bf16:F2}x and float16 at {fp16:F2}x the speed of float32 here, so half precision would only slow training down");
        }

        return bf16 >= fp16 || !cuda
            ? (DTypePolicy.MixedBFloat16, $"bfloat16 runs at {bf16:F2}x float32's speed here (float16: {fp16:F2}x) and needs no loss scaling")
            : (DTypePolicy.MixedFloat16, $"float16 runs at {fp16:F2}x float32's speed here (bfloat16: {bf16:F2}x); dynamic loss scaling keeps its gradients from underflowing");
    }

    private static double Rate(Action run, double flops, double seconds, Device device)
    {
        run();
        Synchronize(device);
        var watch = Stopwatch.StartNew();
        int count = 0;
        do
        {
            run();
            count++;
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
