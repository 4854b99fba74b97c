using MixFit.IO;
using MixFit.Precision;
using MixFit.Tracking.Reports;
using MixFit.Tracking.Store;
using MixFit.Training;
using TorchSharp;

namespace MixFit.Experiments;

/// <summary>
/// Trains the same model under several policies with the same seed and data, writes each run's Keras log, then a
/// side-by-side table, records the runs and writes the HTML and PNG report. Before training, each policy's real
/// training step is measured (<see cref="StepProbe"/>) and a policy more than <see cref="CompareOptions.MaxSlowdown"/>
/// times slower than float32 here is skipped with the reason (<see cref="PrecisionAdvice.Decide"/>), unless forced.
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

        // Before any work: the report goes nowhere the run store owns, and one comparison writes its folder at a time
        // (its runs' checkpoint folder, if any, is locked by each run).
        string storeRoot = options.Train.Store ?? RunStore.DefaultRoot;
        RunStore.RefuseOutput(storeRoot, options.Output, "The report folder");
        RunStore.RefuseOutput(storeRoot, Path.Combine(options.Output, "report.html"), "The report file");
        RunStore.RefuseOutput(storeRoot, Path.Combine(options.Output, "charts"), "The charts folder");
        using var folderLock = FolderLock.Acquire(options.Output, "mixfit compare");
        write.Writer.WriteLine($"mixfit compare: {options.Train.Model.Name} on {options.Train.Data} under {string.Join(", ", policies.Select(p => p.Name))} (loading TorchSharp)...");
        var device = options.Train.Device.Resolve();
        var decisions = options.Force ? Array.Empty<PolicyDecision>() : Measure(options, policies, device, write.Writer);
        var skipped = decisions.Where(d => !d.Run && policies.Contains(d.Policy)).ToDictionary(d => d.Policy.Name, d => $"{d.Policy.Name} skipped: {d.Reason}");

        string group = $"compare-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
        var runIds = new List<string>();
        bool cancelled = false;
        foreach (var policy in policies.Where(p => !skipped.ContainsKey(p.Name)))
        {
            write.Writer.WriteLine();
            write.Writer.WriteLine($"== {policy.Name} ==");
            var probe = decisions.FirstOrDefault(d => d.Policy == policy)?.MsPerStep;
            var result = TrainingJob.Run(options.Train with
            {
                Policy = policy,
                RunName = $"{options.Train.Model.Name}-{policy.Name}",
                Tags = options.Train.Tags.Concat(new[] { "compare", group }).ToArray(),
                ExtraSummary = probe is { } ms ? new Dictionary<string, double> { ["probe_ms_per_step"] = ms } : options.Train.ExtraSummary,
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
        foreach (var reason in skipped.Values)
        {
            write.Writer.WriteLine(reason);
        }

        Directory.CreateDirectory(options.Output);
        string report = Path.Combine(options.Output, "report.html");
        HtmlReport.Write(store, runIds, report);
        var charts = PngReport.Write(store, runIds, Path.Combine(options.Output, "charts"));
        write.Writer.WriteLine($"Report: {report} (charts in {Path.Combine(options.Output, "charts")}); runs stored in {store.Root}");
        return new CompareResult(runIds, skipped, decisions, table, report, charts, cancelled);
    }

    /// <summary>
    /// Times one training step per policy (float32 first, as the baseline, whether or not it is compared) on a
    /// throw-away copy of the model, writing a line per policy as soon as it is known.
    /// </summary>
    private static IReadOnlyList<PolicyDecision> Measure(CompareOptions options, IReadOnlyList<DTypePolicy> policies, torch.Device device, TextWriter output)
    {
        var train = options.Train;
        var probeOptions = options.Probe ?? new StepProbeOptions { FarSlower = options.MaxSlowdown };
        output.WriteLine($"Measuring a training step per policy ({train.Model.Name}, batch {train.BatchSize}, {train.ResolvedImageSize}x{train.ResolvedImageSize}, {device.type.ToString().ToLowerInvariant()}):");
        using var data = TrainingJob.LoadData(train);
        var timings = new List<StepTiming>();
        foreach (var policy in new[] { DTypePolicy.Float32 }.Concat(policies.Where(p => p != DTypePolicy.Float32)))
        {
            output.Write($"  {policy.Name,-15} ");
            output.Flush();
            timings.Add(TrainingJob.ProbeStep(train, policy, data, device, probeOptions, timings.FirstOrDefault()?.MsPerStep));

            var decision = PrecisionAdvice.Decide(timings, options.MaxSlowdown)[^1];
            var timing = timings[^1];
            string basis = timing.TimedSteps switch { 0 => "warm-up step only", 1 => "1 step", var n => $"median of {n} steps" };
            string verdict = !policies.Contains(policy) ? "baseline only" : decision.Run ? $"run ({decision.Reason})" : $"skip: {decision.Reason}";
            output.WriteLine($"{timing.MsPerStep,9:F1} ms/step ({basis}; warm-up {timing.WarmupMs:F0} ms)  {verdict}");
        }

        return PrecisionAdvice.Decide(timings, options.MaxSlowdown);
    }
}
