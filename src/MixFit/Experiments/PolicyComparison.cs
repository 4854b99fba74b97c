using MixFit.Precision;
using MixFit.Tracking.Reports;
using MixFit.Tracking.Store;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Experiments;

/// <summary>
/// Trains the same model under several policies with the same seed and data, prints each run's Keras log, then a
/// side-by-side table, records the runs and writes the HTML and PNG report. Policies whose compute dtype measures far
/// slower than float32 on this device (<see cref="PrecisionProbe"/>) are skipped with a one-line reason unless forced.
/// </summary>
public static class PolicyComparison
{
    /// <summary>Runs the comparison, writing progress to the console.</summary>
    public static CompareResult Run(CompareOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var policies = options.Policies.Select(DTypePolicy.Parse).Distinct().ToList();
        foreach (var policy in policies)
        {
            TrainingJob.Validate(options.Train with { Policy = policy.Name });
        }

        var device = TrainingJob.ResolveDevice(options.Train.Device);
        var skipped = new Dictionary<string, string>();
        if (!options.Force && policies.Any(p => p.ComputeDType != ScalarType.Float32))
        {
            var speed = PrecisionProbe.RelativeSpeed(PrecisionProbe.Measure(device, 0.2));
            foreach (var policy in policies.Where(p => speed.TryGetValue(p.ComputeDType, out double s) && s < PrecisionProbe.FarSlower))
            {
                skipped[policy.Name] = $"{policy.Name} skipped: {policy.ComputeDType} compute measures {speed[policy.ComputeDType]:F2}x float32's speed on this {(device.type == DeviceType.CUDA ? "GPU" : "CPU")} (use --force to run it anyway)";
                Console.WriteLine(skipped[policy.Name]);
            }
        }

        string group = $"compare-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
        var runIds = new List<string>();
        bool cancelled = false;
        foreach (var policy in policies.Where(p => !skipped.ContainsKey(p.Name)))
        {
            Console.WriteLine();
            Console.WriteLine($"== {policy.Name} ==");
            var result = TrainingJob.Run(options.Train with
            {
                Policy = policy.Name,
                RunName = $"{options.Train.Model}-{policy.Name}",
                Tags = options.Train.Tags.Concat(new[] { "compare", group }).ToArray(),
            }, cancellation);
            runIds.Add(result.RunId);
            if (result.Cancelled)
            {
                cancelled = true;
                break;
            }
        }

        var store = RunStore.Open(options.Train.Store);
        string table = RunComparison.Table(RunComparison.Rows(runIds.Select(store.Get)));
        Console.WriteLine();
        Console.Write(table);
        Directory.CreateDirectory(options.Output);
        string report = Path.Combine(options.Output, "report.html");
        HtmlReport.Write(store, runIds, report);
        var charts = PngReport.Write(store, runIds, Path.Combine(options.Output, "charts"));
        Console.WriteLine($"Report: {report} (charts in {Path.Combine(options.Output, "charts")}); runs stored in {store.Root}");
        return new CompareResult(runIds, skipped, table, report, charts, cancelled);
    }
}
