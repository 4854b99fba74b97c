using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using MixFit.Tracking.Store;

namespace MixFit.Tracking.Reports;

/// <summary>
/// One self-contained HTML file comparing runs: loss and accuracy per epoch (train and validation), time per epoch,
/// ms/step, training time against final loss, peak memory, loss scale over steps, system metrics over time, and a
/// configuration diff. uPlot (MIT) is inlined; nothing is fetched when the file is opened.
/// </summary>
/// <remarks>Every user-provided string is HTML-escaped, and the embedded data is JSON with &lt;, &gt; and &amp; escaped.</remarks>
public static class HtmlReport
{
    /// <summary>Writes the report for <paramref name="runIds"/> to <paramref name="path"/>.</summary>
    public static void Write(RunStore store, IReadOnlyList<string> runIds, string path)
    {
        ArgumentNullException.ThrowIfNull(store);
        var runs = runIds.Select(store.Get).ToList();
        var data = runs.Select(r => new
        {
            id = r.Id,
            name = r.Name,
            epochs = store.Metrics(r.Id, "epoch").Select(p => Clean(p.Values, p.Step)),
            steps = store.Metrics(r.Id, "step").Select(p => Clean(p.Values, p.Step)),
            system = store.Metrics(r.Id, "system").Select(p => Clean(p.Values, p.Step)),
            summary = r.Summary.Where(kv => double.IsFinite(kv.Value)).ToDictionary(kv => kv.Key, kv => kv.Value),
        });
        string json = JsonSerializer.Serialize(data);

        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>MixFit report</title><style>")
            .Append(Resource("MixFit.Tracking.uPlot.css"))
            .Append("body{font-family:DejaVu Sans,Arial,sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px}")
            .Append("table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}")
            .Append("td:first-child,th:first-child{text-align:left}.diff{background:#fff3c4}.bar{background:#4e79a7;height:12px}")
            .Append(".charts{display:flex;flex-wrap:wrap;gap:16px}</style></head><body>")
            .Append("<h1>MixFit runs</h1>");

        html.Append("<h2>Comparison</h2><table><tr>");
        foreach (var h in new[] { "run", "policy", "status", "epochs", "training time (s)", "time/epoch (s)", "ms/step (median)", "probe ms/step", "peak memory (MB)", "final loss", "accuracy", "val accuracy", "skipped steps", "speed-up" })
        {
            html.Append("<th>").Append(h).Append("</th>");
        }

        html.Append("</tr>");
        foreach (var row in RunComparison.Rows(runs))
        {
            html.Append("<tr><td>").Append(E(row.Name)).Append("</td><td>").Append(E(row.Policy)).Append("</td><td>").Append(E(row.Status)).Append("</td>");
            foreach (var value in new[] { row.Epochs, row.TrainingSeconds, row.SecondsPerEpoch, row.MsPerStep, row.ProbeMsPerStep, row.PeakMemoryMb, row.FinalLoss, row.Accuracy, row.ValAccuracy, row.SkippedSteps, row.SpeedUp })
            {
                html.Append("<td>").Append(value is { } v ? v.ToString("G5", System.Globalization.CultureInfo.InvariantCulture) : "-").Append("</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</table>");

        html.Append("<h2>Peak memory</h2><table>");
        double maxMemory = runs.Select(r => r.Summary.GetValueOrDefault("peak_memory_mb")).DefaultIfEmpty(0).Max();
        foreach (var run in runs)
        {
            double mb = run.Summary.GetValueOrDefault("peak_memory_mb");
            int width = maxMemory > 0 ? (int)(300 * mb / maxMemory) : 0;
            html.Append("<tr><td>").Append(E(run.Name)).Append("</td><td style=\"text-align:left\"><div class=\"bar\" style=\"width:")
                .Append(width).Append("px\"></div></td><td>").Append(mb.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)).Append(" MB</td></tr>");
        }

        html.Append("</table>");

        html.Append("<h2>Charts</h2><div class=\"charts\" id=\"charts\"></div>");
        html.Append("<h2>Configuration</h2>").Append(ConfigTable(runs));
        html.Append("<script>").Append(Resource("MixFit.Tracking.uPlot.js")).Append("</script>");
        html.Append("<script id=\"run-data\" type=\"application/json\">").Append(json).Append("</script>");
        html.Append("<script>").Append(ChartScript).Append("</script></body></html>");
        File.WriteAllText(path, html.ToString(), new UTF8Encoding(false));
    }

    private static Dictionary<string, double> Clean(IReadOnlyDictionary<string, double> values, long step)
    {
        var clean = values.Where(kv => double.IsFinite(kv.Value)).ToDictionary(kv => kv.Key, kv => kv.Value);
        clean["_step"] = step;
        return clean;
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string ConfigTable(IReadOnlyList<RunInfo> runs)
    {
        var flat = runs.Select(r => Flatten(r.Config, "")).ToList();
        var keys = flat.SelectMany(f => f.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var html = new StringBuilder("<table><tr><th>key</th>");
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

    private const string ChartScript = """
        const runs = JSON.parse(document.getElementById('run-data').textContent);
        const colors = ['#4e79a7','#f28e2b','#e15759','#76b7b2','#59a14f','#edc948','#b07aa1','#ff9da7'];
        function chart(title, xLabel, yLabel, series) {
          const xs = [...new Set(series.flatMap(s => s.points.map(p => p[0])))].sort((a, b) => a - b);
          if (xs.length === 0) return;
          const data = [xs];
          const opts = { title: title, width: 520, height: 300, scales: { x: { time: false } },
            axes: [{ label: xLabel }, { label: yLabel }], series: [{}] };
          series.forEach((s, i) => {
            const map = new Map(s.points);
            data.push(xs.map(x => map.has(x) ? map.get(x) : null));
            opts.series.push({ label: s.label, stroke: colors[s.color % colors.length], dash: s.dash, spanGaps: true,
              paths: s.scatter ? () => null : undefined, points: { show: s.scatter || xs.length < 30, size: s.scatter ? 9 : 5 } });
          });
          const div = document.createElement('div');
          document.getElementById('charts').appendChild(div);
          new uPlot(opts, data, div);
        }
        function perRun(rows, key, xKey) { return rows.filter(r => key in r).map(r => [r[xKey], r[key]]); }
        function epochChart(title, key) {
          const series = [];
          runs.forEach((r, i) => {
            series.push({ label: r.name + ' train', color: i, points: perRun(r.epochs, key, '_step').map(p => [p[0] + 1, p[1]]) });
            series.push({ label: r.name + ' val', color: i, dash: [6, 4], points: perRun(r.epochs, 'val_' + key, '_step').map(p => [p[0] + 1, p[1]]) });
          });
          chart(title, 'epoch', key, series.filter(s => s.points.length > 0));
        }
        epochChart('Loss per epoch', 'loss');
        epochChart('Accuracy per epoch', 'accuracy');
        chart('Time per epoch', 'epoch', 'seconds', runs.map((r, i) => ({ label: r.name, color: i, points: perRun(r.epochs, 'epoch_seconds', '_step').map(p => [p[0] + 1, p[1]]) })));
        chart('ms/step', 'step', 'ms', runs.map((r, i) => ({ label: r.name, color: i, points: perRun(r.steps, 'ms_per_step', '_step') })));
        chart('Training time vs final loss', 'training time (s)', 'final loss', runs.filter(r => 'training_time' in r.summary && 'loss' in r.summary)
          .map((r, i) => ({ label: r.name, color: i, scatter: true, points: [[r.summary.training_time, r.summary.loss]] })));
        chart('Loss scale', 'step', 'scale', runs.map((r, i) => ({ label: r.name, color: i, points: perRun(r.steps, 'loss_scale', '_step') })).filter(s => s.points.length > 0));
        chart('CPU', 'seconds', '%', runs.map((r, i) => ({ label: r.name, color: i, points: perRun(r.system, 'cpu', '_step') })));
        chart('Process memory', 'seconds', 'MB', runs.map((r, i) => ({ label: r.name, color: i, points: perRun(r.system, 'proc.memory.rssMB', '_step') })));
        """;
}
