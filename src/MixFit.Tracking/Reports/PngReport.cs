using MixFit.IO;
using MixFit.Tracking.Store;
using ScottPlot;

namespace MixFit.Tracking.Reports;

/// <summary>
/// The report's charts as PNG files (ScottPlot), for people who prefer images: loss and each logged metric per epoch
/// (train and validation) and per step, time per epoch, ms/step, training time against final loss, peak memory,
/// loss scale with skipped steps (when a run scaled its loss), and the system panels (CPU, process memory, system
/// memory, GPU utilisation and memory when sampled). Legends sit beside the plot, never over the data; a value
/// range of a single point is padded so the ticks differ. Text uses the bundled DejaVu Sans, so it renders on
/// machines without fonts.
/// </summary>
public static class PngReport
{
    private const string FontName = "MixFit DejaVu Sans";
    private static readonly Lazy<bool> FontRegistered = new(RegisterFont);
    private static readonly HashSet<string> NotMetrics = new(StringComparer.Ordinal) { "loss", "lr", "epoch_seconds", "ms_per_step", "loss_scale", "skipped_steps" };

    /// <summary>Writes the charts for <paramref name="runIds"/> into <paramref name="directory"/>; returns the files written.</summary>
    /// <param name="store">The run store.</param>
    /// <param name="runIds">The runs, in legend order.</param>
    /// <param name="directory">Created when missing; existing charts of the same name are replaced.</param>
    /// <param name="width">Image width in pixels. Default 800.</param>
    /// <param name="height">Image height in pixels. Default 500.</param>
    public static IReadOnlyList<string> Write(RunStore store, IReadOnlyList<string> runIds, string directory, int width = 800, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(store);
        RunStore.RefuseOutput(store.Root, directory, "The charts folder");
        _ = FontRegistered.Value;
        Directory.CreateDirectory(directory);
        var runs = runIds.Select(store.Get).ToList();
        var epochs = runs.ToDictionary(r => r.Id, r => store.Metrics(r.Id, "epoch"));
        var steps = runs.ToDictionary(r => r.Id, r => store.Metrics(r.Id, "step"));
        var system = runs.ToDictionary(r => r.Id, r => store.Metrics(r.Id, "system"));
        var files = new List<string>();

        void Lines(string file, string title, string x, string y, Func<RunInfo, IEnumerable<(string Label, double[] Xs, double[] Ys, bool Dashed, bool Right)>> series, string rightLabel = "")
        {
            var plot = NewPlot(title, x, y);
            int color = 0;
            var palette = new ScottPlot.Palettes.Category10();
            var left = new List<double>();
            var right = new List<double>();
            var bottom = new List<double>();
            foreach (var run in runs)
            {
                foreach (var (label, xs, ys, dashed, onRight) in series(run))
                {
                    if (xs.Length == 0)
                    {
                        continue;
                    }

                    var scatter = plot.Add.Scatter(xs, ys, palette.GetColor(color));
                    scatter.LegendText = label;
                    scatter.LinePattern = dashed ? LinePattern.Dashed : LinePattern.Solid;
                    scatter.MarkerSize = xs.Length < 40 ? 6 : 0;
                    bottom.AddRange(xs);
                    if (onRight)
                    {
                        scatter.Axes.YAxis = plot.Axes.Right;
                        right.AddRange(ys);
                    }
                    else
                    {
                        left.AddRange(ys);
                    }
                }

                color++;
            }

            if (left.Count + right.Count > 0)
            {
                plot.Axes.AutoScale();
                Pad(plot.Axes.Bottom, bottom);
                Pad(plot.Axes.Left, left);
                if (right.Count > 0)
                {
                    plot.Axes.Right.Label.Text = rightLabel;
                    Pad(plot.Axes.Right, right);
                }

                files.Add(Save(plot, directory, file, width, height));
            }
        }

        static (string, double[], double[], bool, bool) Series(string label, IReadOnlyList<MetricPoint> points, string key, bool dashed = false, double offset = 0, bool right = false)
        {
            var kept = points.Where(p => p.Values.TryGetValue(key, out double v) && double.IsFinite(v)).ToList();
            return (label, kept.Select(p => p.Step + offset).ToArray(), kept.Select(p => p.Values[key]).ToArray(), dashed, right);
        }

        var metrics = runs.SelectMany(r => epochs[r.Id]).SelectMany(p => p.Values.Keys)
            .Where(k => !k.StartsWith("val_", StringComparison.Ordinal) && !NotMetrics.Contains(k)).Distinct().Order(StringComparer.Ordinal);
        foreach (var key in new[] { "loss" }.Concat(metrics))
        {
            string name = key == "loss" ? "Loss" : key;
            Lines($"{key}.png", $"{name} per epoch", "epoch", key, r => new[] { Series(r.Name + " train", epochs[r.Id], key, offset: 1), Series(r.Name + " val", epochs[r.Id], "val_" + key, true, 1) });
            Lines($"{key}_per_step.png", $"{name} per step (running epoch mean)", "step", key, r => new[] { Series(r.Name, steps[r.Id], key, offset: 1) });
        }

        Lines("epoch_time.png", "Time per epoch", "epoch", "seconds", r => new[] { Series(r.Name, epochs[r.Id], "epoch_seconds", offset: 1) });
        Lines("ms_per_step.png", "ms/step", "step", "ms", r => new[] { Series(r.Name, steps[r.Id], "ms_per_step", offset: 1) });
        Lines("loss_scale.png", "Loss scale (solid) and skipped steps (dashed)", "step", "loss scale", r => new[]
        {
            Series(r.Name + " loss scale", steps[r.Id], "loss_scale", offset: 1),
            Series(r.Name + " skipped steps", steps[r.Id], "skipped_steps", dashed: true, offset: 1, right: true),
        }, "skipped steps (total)");
        Lines("cpu.png", "CPU", "seconds since start", "%", r => new[] { Series(r.Name, system[r.Id], "cpu") });
        Lines("system.png", "Process memory", "seconds since start", "MB", r => new[] { Series(r.Name, system[r.Id], "proc.memory.rssMB") });
        Lines("system_memory.png", "System memory", "seconds since start", "%", r => new[] { Series(r.Name, system[r.Id], "memory_percent") });
        var gpus = runs.SelectMany(r => system[r.Id]).SelectMany(p => p.Values.Keys).Where(k => k.StartsWith("gpu.", StringComparison.Ordinal)).Select(k => k.Split('.')[1]).Distinct().Order();
        foreach (var gpu in gpus)
        {
            Lines($"gpu{gpu}.png", $"GPU {gpu} utilisation", "seconds since start", "%", r => new[] { Series(r.Name, system[r.Id], $"gpu.{gpu}.gpu") });
            Lines($"gpu{gpu}_memory.png", $"GPU {gpu} memory", "seconds since start", "% allocated", r => new[] { Series(r.Name, system[r.Id], $"gpu.{gpu}.memoryAllocated") });
        }

        var scatterPlot = NewPlot("Training time vs final loss", "training time (s)", "final loss");
        int index = 0;
        var times = new List<double>();
        var losses = new List<double>();
        foreach (var run in runs.Where(r => r.Summary.ContainsKey("training_time") && r.Summary.ContainsKey("loss")))
        {
            var marker = scatterPlot.Add.Marker(run.Summary["training_time"], run.Summary["loss"], MarkerShape.FilledCircle, 12, new ScottPlot.Palettes.Category10().GetColor(index++));
            marker.LegendText = run.Name;
            times.Add(run.Summary["training_time"]);
            losses.Add(run.Summary["loss"]);
        }

        if (index > 0)
        {
            Pad(scatterPlot.Axes.Bottom, times);
            Pad(scatterPlot.Axes.Left, losses);
            files.Add(Save(scatterPlot, directory, "time_vs_loss.png", width, height));
        }

        var bars = NewPlot("Peak memory", "", "MB");
        var values = runs.Select(r => r.Summary.GetValueOrDefault("peak_memory_mb")).ToArray();
        bars.Add.Bars(values);
        bars.Axes.Bottom.SetTicks(Enumerable.Range(0, runs.Count).Select(i => (double)i).ToArray(), runs.Select(r => r.Name).ToArray());
        bars.Axes.Margins(bottom: 0);
        files.Add(Save(bars, directory, "peak_memory.png", width, height, legend: false));
        return files;
    }

    /// <summary>Sets an axis to the values' range plus 6% each side; a single value (or equal values) gets 5% of its size, so ticks differ and points stay inside.</summary>
    private static void Pad(IAxis axis, IReadOnlyCollection<double> values)
    {
        if (values.Count > 0)
        {
            var (low, high) = PaddedRange(values.Min(), values.Max());
            axis.Range.Set(low, high);
        }
    }

    /// <summary>The range shown for values from <paramref name="min"/> to <paramref name="max"/> (see <see cref="Pad"/>).</summary>
    internal static (double Low, double High) PaddedRange(double min, double max)
    {
        double size = Math.Max(Math.Abs(min), Math.Abs(max));
        double pad = max - min > size * 1e-9 ? (max - min) * 0.06 : (size > 0 ? size * 0.05 : 0.5);
        return (min - pad, max + pad);
    }

    private static Plot NewPlot(string title, string x, string y)
    {
        var plot = new Plot();
        plot.Font.Set(FontName);
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        return plot;
    }

    private static string Save(Plot plot, string directory, string file, int width, int height, bool legend = true)
    {
        if (legend)
        {
            // Beside the data area, never over it.
            plot.ShowLegend(Edge.Right);
        }

        string path = Path.Combine(directory, file);
        plot.SavePng(path, width, height);
        return path;
    }

    private static bool RegisterFont()
    {
        // Resolved from the embedded resource: no font file is written anywhere (it used to be copied to the temp folder).
        Fonts.FontResolvers.Insert(0, new EmbeddedFontResolver(FontName));
        return true;
    }
}
