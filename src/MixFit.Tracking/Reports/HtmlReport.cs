using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using MixFit.IO;
using MixFit.Tracking.Store;

namespace MixFit.Tracking.Reports;

/// <summary>
/// One self-contained HTML file comparing runs, as a Weights &amp; Biases report would: the comparison table, peak
/// memory, per-step training curves (loss and every logged metric, validation per epoch) with W&amp;B's smoothing and a
/// choice of x axis (step, epoch, wall time), ms/step, loss scale and skipped steps, time per epoch, training time
/// against final loss, system panels (CPU, process and system memory, GPU utilisation and memory when sampled) and a
/// configuration diff; then a page per run (Overview: summary and config; System; Logs: the console output),
/// reached from the run's name. uPlot (MIT) is inlined; nothing is fetched when the file is opened.
/// </summary>
/// <remarks>
/// Every user-provided string is HTML-escaped, and the embedded data is JSON with &lt;, &gt; and &amp; escaped. Step
/// records are thinned to at most <see cref="MaxStepPoints"/> per run (evenly, the last kept) and logs to their last
/// <see cref="MaxLogCharacters"/> characters, so reports of long runs stay small.
/// </remarks>
public static class HtmlReport
{
    /// <summary>The most step records per run the report embeds (4,000).</summary>
    public const int MaxStepPoints = 4000;

    /// <summary>The most characters of a run's console log the report embeds (the end of the log; 400,000).</summary>
    public const int MaxLogCharacters = 400_000;

    /// <summary>Writes the report for <paramref name="runIds"/> to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is inside the run store (its index or a run folder).</exception>
    public static void Write(RunStore store, IReadOnlyList<string> runIds, string path)
    {
        ArgumentNullException.ThrowIfNull(store);
        RunStore.RefuseOutput(store.Root, path, "The report file");
        var runs = runIds.Select(store.Get).ToList();
        var data = runs.Select(r => new
        {
            id = r.Id,
            name = r.Name,
            started = r.StartedAt.ToUnixTimeMilliseconds() / 1000.0,
            epochs = store.Metrics(r.Id, "epoch").Select(Clean),
            steps = Thin(store.Metrics(r.Id, "step"), MaxStepPoints).Select(Clean),
            system = store.Metrics(r.Id, "system").Select(Clean),
            summary = r.Summary.Where(kv => double.IsFinite(kv.Value)).ToDictionary(kv => kv.Key, kv => kv.Value),
        });
        string json = JsonSerializer.Serialize(data);

        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>MixFit report</title><style>")
            .Append(Resource("MixFit.Tracking.uPlot.css"))
            .Append(Resource("MixFit.Tracking.report.css"))
            .Append("</style></head><body><h1>MixFit runs</h1><div id=\"comparison\">");

        html.Append("<h2>Comparison</h2><table class=\"data\"><tr>");
        foreach (var h in new[] { "run", "policy", "status", "epochs", "training time (s)", "time/epoch (s)", "ms/step (median)", "probe ms/step", "peak memory (MB)", "peak GPU memory (MB)", "final loss", "accuracy", "val accuracy", "skipped steps", "speed-up" })
        {
            html.Append("<th>").Append(h).Append("</th>");
        }

        html.Append("</tr>");
        foreach (var (row, run) in RunComparison.Rows(runs).Zip(runs))
        {
            html.Append("<tr><td><a href=\"#run-").Append(E(run.Id)).Append("\">").Append(E(row.Name)).Append("</a></td><td>").Append(E(row.Policy)).Append("</td><td>").Append(E(row.Status)).Append("</td>");
            foreach (var value in new[] { row.Epochs, row.TrainingSeconds, row.SecondsPerEpoch, row.MsPerStep, row.ProbeMsPerStep, row.PeakMemoryMb, row.PeakGpuMemoryMb, row.FinalLoss, row.Accuracy, row.ValAccuracy, row.SkippedSteps, row.SpeedUp })
            {
                html.Append("<td>").Append(Number(value)).Append("</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</table><p class=\"note\">ms/step (median): the median over the run's steps without the first; the Keras bar shows the epoch's mean. A run's name opens its page.</p>");
        var datasets = runs.Select(r => r.Config["dataset"]?.ToString() ?? "").Distinct().ToList();
        if (datasets.Count > 1)
        {
            html.Append("<p class=\"note\"><b>These runs trained on different data</b> (").Append(E(string.Join("; ", datasets.Select(d => d.Length == 0 ? "unknown" : d))))
                .Append("): their times and speed-ups compare unlike work.</p>");
        }

        html.Append("<h2>Peak memory</h2><table class=\"data\">");
        double maxMemory = runs.Select(r => r.Summary.GetValueOrDefault("peak_memory_mb")).DefaultIfEmpty(0).Max();
        foreach (var run in runs)
        {
            double mb = run.Summary.GetValueOrDefault("peak_memory_mb");
            int width = maxMemory > 0 ? (int)(300 * mb / maxMemory) : 0;
            html.Append("<tr><td>").Append(E(run.Name)).Append("</td><td style=\"text-align:left\"><div class=\"bar\" style=\"width:")
                .Append(width).Append("px\"></div></td><td>").Append(mb.ToString("F0", CultureInfo.InvariantCulture)).Append(" MB</td></tr>");
        }

        html.Append("</table>");
        html.Append("<h2>Training</h2><div class=\"controls\"><label>x axis <select id=\"x-axis\"><option value=\"step\">step</option><option value=\"epoch\">epoch</option><option value=\"time\">wall time</option></select></label>")
            .Append("<label>smoothing <input id=\"smoothing\" type=\"range\" min=\"0\" max=\"0.99\" step=\"0.01\" value=\"0\"><span id=\"smoothing-value\">0.00</span></label></div>")
            .Append("<p class=\"note\">Per-step values are Keras' running means over the epoch so far; smoothing is an exponential moving average with TensorBoard's debiasing (the faint line is the raw value).</p>")
            .Append("<div class=\"charts\" id=\"charts\"></div>");
        html.Append("<h2>System</h2><div class=\"charts\" id=\"system\"></div>");
        html.Append("<h2>Configuration</h2>").Append(ConfigTable(runs)).Append("</div>");
        foreach (var run in runs)
        {
            html.Append(RunPage(store, run));
        }

        html.Append("<script>").Append(Resource("MixFit.Tracking.uPlot.js")).Append("</script>");
        html.Append("<script id=\"run-data\" type=\"application/json\">").Append(json).Append("</script>");
        html.Append("<script>").Append(Resource("MixFit.Tracking.report-core.js")).Append(Resource("MixFit.Tracking.report.js")).Append("</script></body></html>");
        AtomicFile.WriteAllText(path, html.ToString());
    }

    /// <summary>W&amp;B's run page: Overview (summary, config), System (charts) and Logs (the console output).</summary>
    private static string RunPage(RunStore store, RunInfo run)
    {
        var html = new StringBuilder();
        html.Append("<section class=\"page\" id=\"run-").Append(E(run.Id)).Append("\" hidden><p><a href=\"#\">&larr; all runs</a></p><h2>")
            .Append(E(run.Name)).Append("</h2><p class=\"note\">run ").Append(E(run.Id)).Append(" &middot; ").Append(E(run.Status.ToString().ToLowerInvariant()))
            .Append(" &middot; started ").Append(run.StartedAt.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)).Append("</p>")
            .Append("<div class=\"tabs\"><button class=\"active\" data-tab=\"overview\">Overview</button><button data-tab=\"system\">System</button><button data-tab=\"logs\">Logs</button></div>");

        html.Append("<div class=\"tab\" data-tab=\"overview\"><h3>Summary</h3><table class=\"data\"><tr><th>key</th><th>value</th></tr>");
        foreach (var (key, value) in run.Summary.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            html.Append("<tr><td>").Append(E(key)).Append("</td><td>").Append(Number(value)).Append("</td></tr>");
        }

        html.Append("</table><h3>Config</h3><table class=\"data config\"><tr><th>key</th><th>value</th></tr>");
        foreach (var (key, value) in Flatten(run.Config, "").OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            html.Append("<tr><td>").Append(E(key)).Append("</td><td style=\"text-align:left\">").Append(E(value)).Append("</td></tr>");
        }

        html.Append("</table></div><div class=\"tab\" data-tab=\"system\" hidden><div class=\"charts\"></div></div>");
        string log = ReadLog(store, run);
        html.Append("<div class=\"tab\" data-tab=\"logs\" hidden>")
            .Append(log.Length == 0 ? "<p class=\"empty\">This run has no console log (output.log).</p>" : $"<pre class=\"log\">{E(log)}</pre>")
            .Append("</div></section>");
        return html.ToString();
    }

    private static string ReadLog(RunStore store, RunInfo run)
    {
        string path = Path.Combine(store.RunFolder(run.Id), "output.log");
        if (!File.Exists(path))
        {
            return "";
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        long skip = Math.Max(0, stream.Length - (MaxLogCharacters * 2L));
        stream.Seek(skip, SeekOrigin.Begin);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string text = reader.ReadToEnd();
        return text.Length > MaxLogCharacters || skip > 0 ? "[... the log's beginning is left out ...]\n" + text[^Math.Min(text.Length, MaxLogCharacters)..] : text;
    }

    private static IEnumerable<MetricPoint> Thin(IReadOnlyList<MetricPoint> points, int max)
    {
        if (points.Count <= max)
        {
            return points;
        }

        int every = (points.Count + max - 1) / max;
        return points.Where((_, i) => i % every == 0 || i == points.Count - 1);
    }

    private static string Number(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("G5", CultureInfo.InvariantCulture) : "-";

    private static Dictionary<string, double> Clean(MetricPoint point)
    {
        var clean = point.Values.Where(kv => double.IsFinite(kv.Value)).ToDictionary(kv => kv.Key, kv => kv.Value);
        clean["_step"] = point.Step;
        clean["_time"] = point.Time;
        return clean;
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string ConfigTable(IReadOnlyList<RunInfo> runs)
    {
        var flat = runs.Select(r => Flatten(r.Config, "")).ToList();
        var keys = flat.SelectMany(f => f.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var html = new StringBuilder("<table class=\"data config\"><tr><th>key</th>");
        foreach (var run in runs)
        {
            html.Append("<th>").Append(E(run.Name)).Append("</th>");
        }

        html.Append("</tr>");
        foreach (var key in keys)
        {
            var values = flat.Select(f => f.GetValueOrDefault(key, "")).ToList();
            bool differs = values.Distinct().Count() > 1;
            html.Append(differs ? "<tr class=\"diff\">" : "<tr>").Append("<td>").Append(E(key)).Append("</td>");
            foreach (var value in values)
            {
                html.Append("<td>").Append(E(value)).Append("</td>");
            }

            html.Append("</tr>");
        }

        return html.Append("</table>").ToString();
    }

    private static Dictionary<string, string> Flatten(System.Text.Json.Nodes.JsonNode? node, string prefix)
    {
        var result = new Dictionary<string, string>();
        if (node is System.Text.Json.Nodes.JsonObject obj)
        {
            foreach (var (key, value) in obj)
            {
                foreach (var kv in Flatten(value, prefix.Length == 0 ? key : $"{prefix}.{key}"))
                {
                    result[kv.Key] = kv.Value;
                }
            }
        }
        else
        {
            result[prefix] = node?.ToString() ?? "";
        }

        return result;
    }

    private static string Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase);
    }
}
