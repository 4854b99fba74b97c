using System.Reflection;
using MixFit.Tracking.Store;
using ScottPlot;

namespace MixFit.Tracking.Reports;

/// <summary>
/// The report's charts as PNG files (ScottPlot), for people who prefer images: loss, accuracy, time per epoch,
/// ms/step, training time vs final loss, peak memory, loss scale, system metrics. Text uses the bundled DejaVu Sans,
/// so it renders on machines without fonts.
/// </summary>
public static class PngReport
{
    private const string FontName = "MixFit DejaVu Sans";
    private static readonly Lazy<bool> FontRegistered = new(RegisterFont);

    /// <summary>Writes the charts for <paramref name="runIds"/> into <paramref name="directory"/>; returns the files written.</summary>
    public static IReadOnlyList<string> Write(RunStore store, IReadOnlyList<string> runIds, string directory, int width = 800, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(store);
        _ = FontRegistered.Value;
        Directory.CreateDirectory(directory);
        var runs = runIds.Select(store.Get).ToList();
        var epochs = runs.ToDictionary(r => r.Id, r => store.Metrics(r.Id, "epoch"));
        var steps = runs.ToDictionary(r => r.Id, r => store.Metrics(r.Id, "step"));
        var system = runs.ToDictionary(r => r.Id, r => store.Metrics(r.Id, "system"));
        var files = new List<string>();

        void Lines(string file, string title, string x, string y, Func<RunInfo, IEnumerable<(string Label, double[] Xs, double[] Ys, bool Dashed)>> series)
        {
            var plot = NewPlot(title, x, y);
            int color = 0;
            bool any = false;
            foreach (var run in runs)
            {
                var palette = new ScottPlot.Palettes.Category10();
                foreach (var (label, xs, ys, dashed) in series(run))
                {
                    if (xs.Length == 0)
                    {
                        continue;
                    }

                    var scatter = plot.Add.Scatter(xs, ys, palette.GetColor(color));
                    scatter.LegendText = label;
                    scatter.LinePattern = dashed ? LinePattern.Dashed : LinePattern.Solid;
                    any = true;
                }

                color++;
            }

            if (any)
            {
                plot.ShowLegend();
                files.Add(Save(plot, directory, file, width, height));
            }
        }

        (string, double[], double[], bool) Series(string label, IReadOnlyList<MetricPoint> points, string key, bool dashed = false, double offset = 0)
        {
            var kept = points.Where(p => p.Values.TryGetValue(key, out double v) && double.IsFinite(v)).ToList();
            return (label, kept.Select(p => p.Step + offset).ToArray(), kept.Select(p => p.Values[key]).ToArray(), dashed);
        }

        Lines("loss.png", "Loss per epoch", "epoch", "loss", r => new[] { Series(r.Name + " train", epochs[r.Id], "loss", offset: 1), Series(r.Name + " val", epochs[r.Id], "val_loss", true, 1) });
        Lines("accuracy.png", "Accuracy per epoch", "epoch", "accuracy", r => new[] { Series(r.Name + " train", epochs[r.Id], "accuracy", offset: 1), Series(r.Name + " val", epochs[r.Id], "val_accuracy", true, 1) });
        Lines("epoch_time.png", "Time per epoch", "epoch", "seconds", r => new[] { Series(r.Name, epochs[r.Id], "epoch_seconds", offset: 1) });
        Lines("ms_per_step.png", "ms/step", "step", "ms", r => new[] { Series(r.Name, steps[r.Id], "ms_per_step") });
        Lines("loss_scale.png", "Loss scale", "step", "scale", r => new[] { Series(r.Name, steps[r.Id], "loss_scale") });
        Lines("system.png", "Process memory", "seconds", "MB", r => new[] { Series(r.Name, system[r.Id], "proc.memory.rssMB") });

        var scatterPlot = NewPlot("Training time vs final loss", "training time (s)", "final loss");
        int index = 0;
        foreach (var run in runs.Where(r => r.Summary.ContainsKey("training_time") && r.Summary.ContainsKey("loss")))
        {
            var marker = scatterPlot.Add.Marker(run.Summary["training_time"], run.Summary["loss"], MarkerShape.FilledCircle, 12, new ScottPlot.Palettes.Category10().GetColor(index++));
            marker.LegendText = run.Name;
        }

        if (index > 0)
        {
            scatterPlot.ShowLegend();
            files.Add(Save(scatterPlot, directory, "time_vs_loss.png", width, height));
        }

        var bars = NewPlot("Peak memory", "", "MB");
        var values = runs.Select(r => r.Summary.GetValueOrDefault("peak_memory_mb")).ToArray();
        bars.Add.Bars(values);
        bars.Axes.Bottom.SetTicks(Enumerable.Range(0, runs.Count).Select(i => (double)i).ToArray(), runs.Select(r => r.Name).ToArray());
        bars.Axes.Margins(bottom: 0);
        files.Add(Save(bars, directory, "peak_memory.png", width, height));
        return files;
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

    private static string Save(Plot plot, string directory, string file, int width, int height)
    {
        string path = Path.Combine(directory, file);
        plot.SavePng(path, width, height);
        return path;
    }

    private static bool RegisterFont()
    {
        string path = Path.Combine(Path.GetTempPath(), "mixfit-DejaVuSans.ttf");
        if (!File.Exists(path))
        {
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("MixFit.Tracking.DejaVuSans.ttf")!;
            using var file = File.Create(path);
            stream.CopyTo(file);
        }

        Fonts.AddFontFile(FontName, path);
        return true;
    }
}
