using MixFit.Precision;
using MixFit.Tracking.Reports;
using MixFit.Tracking.Store;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Experiments;

/// <summary>
/// Trains the same model under several policies with the same seed and data, writes each run's Keras log, then a
/// side-by-side table, records the runs and writes the HTML and PNG report. Policies whose compute dtype measures far
/// slower than float32 on this device (<see cref="PrecisionProbe"/>) are skipped with a one-line reason unless forced.
/// </summary>
public static class PolicyComparison
{
    /// <summary>Runs the comparison, writing progress to <paramref name="output"/>.</summary>
    public static CompareResult Run(CompareOptions options, TextWriter output, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var write = new JobOutput(output);
        var policies = options.Policies.Distinct().ToList();
        TrainingJob.Validate(options.Train);
        var device = options.Train.Device.Resolve();
        var skipped = new Dictionary<string, string>();
        if (!options.Force && policies.Any(p => p.ComputeDType != ScalarType.Float32))
        {
            var speed = PrecisionProbe.RelativeSpeed(PrecisionProbe.Measure(device, 0.2));
            foreach (var policy in policies.Where(p => speed.TryGetValue(p.ComputeDType, out double s) && s < PrecisionProbe.FarSlower))
            {
                skipped[policy.Name] = $"{policy.Name} skipped: {policy.ComputeDType} compute measures {speed[policy.ComputeDType]:F2}x float32's speed on this {(device.type == DeviceType.CUDA ? "GPU" : "CPU")} (use --force to run it anyway)";
                write.Writer.WriteLine(skipped[policy.Name]);
            }
        }

        string group = $"compare-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
        var runIds = new List<string>();
        bool cancelled = false;
        foreach (var policy in policies.Where(p => !skipped.ContainsKey(p.Name)))
        {
            write.Writer.WriteLine();
            write.Writer.WriteLine($"== {policy.Name} ==");
            var result = TrainingJob.Run(options.Train with
            {
                Policy = policy,
                RunName = $"{options.Train.Model.Name}-{policy.Name}",
                Tags = options.Train.Tags.Concat(new[] { "compare", group }).ToArray(),
            }, output, cancellation);
            runIds.Add(result.RunId);
            if (result.Cancelled)
            {
                cancelled = true;
                break;
            }
        }

        var store = RunStore.Open(options.Train.Store);
        string table = RunComparison.Table(RunComparison.Rows(runIds.Select(store.Get)));
        write.Writer.WriteLine();
        write.Writer.Write(table);
        Directory.CreateDirectory(options.Output);
        string report = Path.Combine(options.Output, "report.html");
        HtmlReport.Write(store, runIds, report);
        var charts = PngReport.Write(store, runIds, Path.Combine(options.Output, "charts"));
        write.Writer.WriteLine($"Report: {report} (charts in {Path.Combine(options.Output, "charts")}); runs stored in {store.Root}");
        return new CompareResult(runIds, skipped, table, report, charts, cancelled);
    }
}
