using System.Diagnostics;
using MixFit.Distributed;
using static TorchSharp.torch;

namespace MixFit.GpuChecks;

/// <summary>One all-reduce size's measurement: NCCL's algorithm bandwidth (bytes / time) at world size 1.</summary>
/// <param name="Megabytes">Buffer size, MiB.</param>
/// <param name="Milliseconds">Mean time of one in-place sum, ms.</param>
/// <param name="GigabytesPerSecond">Bytes / time, GB/s (world size 1: the device's copy path, not a network).</param>
public sealed record NcclResult(double Megabytes, double Milliseconds, double GigabytesPerSecond);

/// <summary>The NCCL path of data-parallel training on one GPU (world size 1): it runs, sums correctly, and how fast.</summary>
public static class NcclBandwidth
{
    /// <summary>Joins a one-rank communicator on <paramref name="device"/>, checks a sum, and times in-place sums of growing buffers.</summary>
    public static (string Version, string Library, IReadOnlyList<NcclResult> Results) Run(Device device, TextWriter log)
    {
        using var nccl = Nccl.Load();
        nccl.Join(nccl.NewUniqueId(), ranks: 1, rank: 0, device: Math.Max(0, (int)device.index));
        log.WriteLine($"  NCCL {nccl.Version} from {nccl.Path}");
        using (var probe = arange(1024, ScalarType.Float32, device))
        {
            using var expected = probe.clone();
            nccl.SumInPlace(probe);
            if (!probe.equal(expected).all().item<bool>())
            {
                throw new CheckFailedException("a one-rank NCCL sum changed its buffer");
            }
        }

        var results = new List<NcclResult>();
        foreach (long megabytes in new long[] { 16, 64, 256 })
        {
            using var buffer = ones(megabytes * 1024 * 1024 / 4, ScalarType.Float32, device);
            for (int i = 0; i < 3; i++)
            {
                nccl.SumInPlace(buffer);
            }

            cuda.synchronize(device);
            const int iterations = 10;
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++)
            {
                nccl.SumInPlace(buffer);
            }

            cuda.synchronize(device);
            double ms = watch.Elapsed.TotalMilliseconds / iterations;
            var result = new NcclResult(megabytes, ms, megabytes * 1024 * 1024 / (ms / 1000) / 1e9);
            log.WriteLine($"  all-reduce {megabytes,4} MiB: {ms,7:F3} ms, {result.GigabytesPerSecond,7:F1} GB/s");
            results.Add(result);
        }

        return (nccl.Version, nccl.Path, results);
    }
}
