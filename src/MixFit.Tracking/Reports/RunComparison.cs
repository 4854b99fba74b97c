using System.Globalization;
using System.Text;
using MixFit.Tracking.Store;

namespace MixFit.Tracking.Reports;

/// <summary>Compares runs side by side: policy, final loss, accuracy, validation accuracy, training time, ms/step, peak memory, skipped steps and speed-up against the float32 run.</summary>
public static class RunComparison
{
    /// <summary>The rows for <paramref name="runs"/>; speed-up is float32's ms/step divided by the run's (null without a float32 run).</summary>
    public static IReadOnlyList<ComparisonRow> Rows(IEnumerable<RunInfo> runs)
    {
        var list = runs.ToList();
        double? Get(RunInfo run, string key) => run.Summary.TryGetValue(key, out double v) ? v : null;
        string Policy(RunInfo run) => run.Config["policy"]?.ToString() ?? "";
        var baseline = list.FirstOrDefault(r => Policy(r) == "float32");
        double? baseMs = baseline is null ? null : Get(baseline, "ms_per_step");
        return list.Select(r => new ComparisonRow(
            r.Id, r.Name, Policy(r), r.Status.ToString().ToLowerInvariant(), Get(r, "epochs"), Get(r, "training_time"),
            Get(r, "training_time") is { } t && Get(r, "epochs") is { } e && e > 0 ? t / e : null, Get(r, "ms_per_step"), Get(r, "peak_memory_mb"),
            Get(r, "loss"), Get(r, "accuracy"), Get(r, "val_accuracy"), Get(r, "skipped_steps"),
            baseMs is { } b && Get(r, "ms_per_step") is { } ms && ms > 0 ? b / ms : null, Get(r, "probe_ms_per_step"), Get(r, "peak_gpu_memory_mb"))).ToList();
    }

    /// <summary>A fixed-width text table of the rows, for the console.</summary>
    public static string Table(IReadOnlyList<ComparisonRow> rows)
    {
        string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "-";
        bool probed = rows.Any(r => r.ProbeMsPerStep is not null);
        bool gpu = rows.Any(r => r.PeakGpuMemoryMb is not null);
        var header = new[] { "run", "policy", "status", "epochs", "train time", "time/epoch", "ms/step (median)" }
            .Concat(probed ? new[] { "probe ms/step" } : Array.Empty<string>())
            .Concat(new[] { "peak MB" }).Concat(gpu ? new[] { "peak GPU MB" } : Array.Empty<string>())
            .Concat(new[] { "final loss", "accuracy", "val acc", "skipped", "speed-up" }).ToArray();
        var lines = rows.Select(r => new[]
        {
            r.Name, r.Policy, r.Status, F(r.Epochs, "F0"), r.TrainingSeconds is { } t ? $"{t:F1}s" : "-", r.SecondsPerEpoch is { } e ? $"{e:F1}s" : "-",
            F(r.MsPerStep, "F1"),
        }.Concat(probed ? new[] { F(r.ProbeMsPerStep, "F1") } : Array.Empty<string>()).Concat(new[] { F(r.PeakMemoryMb, "F0") })
        .Concat(gpu ? new[] { F(r.PeakGpuMemoryMb, "F0") } : Array.Empty<string>()).Concat(new[]
        {
            F(r.FinalLoss, "F4"), F(r.Accuracy, "F4"), F(r.ValAccuracy, "F4"), F(r.SkippedSteps, "F0"),
            r.SpeedUp is { } s ? $"{s:F2}x" : "-",
        }).ToArray()).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, lines.Count == 0 ? 0 : lines.Max(l => l[i].Length))).ToArray();
        var text = new StringBuilder();
        text.AppendLine(string.Join("  ", header.Select((h, i) => i < 3 ? h.PadRight(widths[i]) : h.PadLeft(widths[i]))));
        foreach (var line in lines)
        {
            text.AppendLine(string.Join("  ", line.Select((c, i) => i < 3 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))));
        }

        return text.ToString();
    }
}
