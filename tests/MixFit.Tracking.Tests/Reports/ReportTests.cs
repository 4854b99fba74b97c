using System.Buffers.Binary;
using System.Text.Json.Nodes;
using MixFit.Tracking.Reports;
using MixFit.Tracking.Store;

namespace MixFit.Tracking.Tests.Reports;

public sealed class ReportTests : IDisposable
{
    private readonly TempStore temp = new();

    public void Dispose() => temp.Dispose();

    private List<string> TwoRuns(string secondName = "mixed")
    {
        var store = temp.Open();
        var ids = new List<string>();
        foreach (var (name, policy, ms) in new[] { ("baseline", "float32", 40.0), (secondName, "mixed_bfloat16", 20.0) })
        {
            var run = store.StartRun(name, new JsonObject { ["policy"] = policy, ["batch_size"] = 128 });
            for (int epoch = 0; epoch < 3; epoch++)
            {
                run.Log("epoch", epoch, new Dictionary<string, double> { ["loss"] = 1.0 / (epoch + 1), ["val_loss"] = 1.2 / (epoch + 1), ["accuracy"] = 0.5 + (0.1 * epoch), ["epoch_seconds"] = 3 });
                run.Log("step", epoch, new Dictionary<string, double> { ["ms_per_step"] = ms, ["loss_scale"] = 32768 });
            }

            run.UpdateSummary(new Dictionary<string, double> { ["loss"] = 0.333, ["accuracy"] = 0.7, ["training_time"] = 9, ["ms_per_step"] = ms, ["peak_memory_mb"] = 400 });
            run.Finish();
            ids.Add(run.Id);
        }

        return ids;
    }

    [Fact]
    public void The_comparison_gives_the_speed_up_against_the_float32_run()
    {
        var ids = TwoRuns();
        var rows = RunComparison.Rows(ids.Select(temp.Open().Get));
        Assert.Equal(1.0, rows[0].SpeedUp);
        Assert.Equal(2.0, rows[1].SpeedUp);
        string table = RunComparison.Table(rows);
        Assert.Contains("mixed_bfloat16", table);
        Assert.Contains("2.00x", table);
        Assert.Contains("ms/step (median)", table);
        Assert.DoesNotContain("probe", table);                        // no run was probed: no empty column
    }

    [Fact]
    public void The_probe_figure_stands_beside_the_trained_one()
    {
        var ids = TwoRuns();
        var store = temp.Open();
        var probed = store.StartRun("probed", new JsonObject { ["policy"] = "mixed_float16" });
        probed.UpdateSummary(new Dictionary<string, double> { ["ms_per_step"] = 31.5, ["probe_ms_per_step"] = 29.4 });
        probed.Finish();
        var rows = RunComparison.Rows(ids.Append(probed.Id).Select(temp.Open().Get));
        Assert.Equal(new double?[] { null, null, 29.4 }, rows.Select(r => r.ProbeMsPerStep));
        var lines = RunComparison.Table(rows).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"ms/step \(median\)\s+probe ms/step", lines[0]);
        Assert.Matches(@"31\.5\s+29\.4", lines[3]);
        Assert.Matches(@"40\.0\s+-", lines[1]);
    }

    [Fact]
    public void Peak_gpu_memory_gets_a_column_only_when_a_run_trained_on_a_gpu()
    {
        var ids = TwoRuns();
        Assert.DoesNotContain("peak GPU MB", RunComparison.Table(RunComparison.Rows(ids.Select(temp.Open().Get))));

        var store = temp.Open();
        var onGpu = store.StartRun("on-gpu", new JsonObject { ["policy"] = "mixed_float16" });
        onGpu.UpdateSummary(new Dictionary<string, double> { ["ms_per_step"] = 12.5, ["peak_memory_mb"] = 900, ["peak_gpu_memory_mb"] = 20480 });
        onGpu.Finish();
        var rows = RunComparison.Rows(ids.Append(onGpu.Id).Select(temp.Open().Get));
        Assert.Equal(new double?[] { null, null, 20480 }, rows.Select(r => r.PeakGpuMemoryMb));
        var lines = RunComparison.Table(rows).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"peak MB\s+peak GPU MB", lines[0]);
        Assert.Matches(@"900\s+20480", lines[3]);
    }

    [Fact]
    public void The_html_report_is_self_contained_holds_the_data_and_escapes_names()
    {
        var ids = TwoRuns("<script>alert(1)</script>");
        string path = Path.Combine(temp.Root, "report.html");
        HtmlReport.Write(temp.Open(), ids, path);
        string html = File.ReadAllText(path);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.DoesNotContain("<script>alert(1)</script>", html);
        Assert.Contains("\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E", html);
        Assert.Contains("uPlot", html);
        Assert.DoesNotContain("src=\"http", html);
        Assert.Contains("\"epoch_seconds\":3", html);
        Assert.Contains("class=\"diff\"", html);
    }

    [Fact]
    public void Png_charts_are_images_of_the_requested_size_and_write_nothing_outside_their_folder()
    {
        var ids = TwoRuns();
        string oldFontCopy = Path.Combine(Path.GetTempPath(), "mixfit-DejaVuSans.ttf");    // where the font used to be written
        File.Delete(oldFontCopy);
        var files = PngReport.Write(temp.Open(), ids, Path.Combine(temp.Root, "png"), 640, 400);
        Assert.False(File.Exists(oldFontCopy), "rendering wrote a font file into the temp folder");
        Assert.All(files, f => Assert.StartsWith(Path.Combine(temp.Root, "png"), f));
        Assert.Contains(files, f => f.EndsWith("loss.png", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("time_vs_loss.png", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("peak_memory.png", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            Assert.True(bytes.Length > 2000, $"{file} is only {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
            Assert.Equal(640, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
            Assert.Equal(400, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
        }
    }

    [Fact]
    public void The_html_report_links_each_run_to_its_page_with_summary_config_and_log()
    {
        var ids = TwoRuns();
        var store = temp.Open();
        File.WriteAllText(Path.Combine(store.RunFolder(ids[1]), "output.log"), "Epoch 1/3\n43/43 - loss: 0.5 <b>\n");
        string path = Path.Combine(temp.Root, "report.html");
        HtmlReport.Write(store, ids, path);
        string html = File.ReadAllText(path);
        foreach (var id in ids)
        {
            Assert.Contains($"<a href=\"#run-{id}\">", html);
            Assert.Contains($"<section class=\"page\" id=\"run-{id}\" hidden>", html);
        }

        Assert.Contains("data-tab=\"overview\"", html);
        Assert.Contains("data-tab=\"system\"", html);
        Assert.Contains("43/43 - loss: 0.5 &lt;b&gt;", html);                    // the log, escaped
        Assert.Contains("This run has no console log", html);                   // the other run has none
        Assert.Contains("<select id=\"x-axis\">", html);
        Assert.Contains("id=\"smoothing\"", html);
        Assert.Contains("MixFitReport", html);                                  // the script is inline
        Assert.DoesNotContain("<script src", html);
    }

    [Fact]
    public void Long_runs_embed_at_most_the_step_limit_and_the_last_step()
    {
        var store = temp.Open();
        var run = store.StartRun("long", new JsonObject { ["policy"] = "float32" });
        int steps = (HtmlReport.MaxStepPoints * 2) + 7;
        for (int step = 0; step < steps; step++)
        {
            run.Log("step", step, new Dictionary<string, double> { ["ms_per_step"] = 10 + (step % 3) });
        }

        run.Finish();
        string path = Path.Combine(temp.Root, "long.html");
        HtmlReport.Write(store, new[] { run.Id }, path);
        string html = File.ReadAllText(path);
        int embedded = System.Text.RegularExpressions.Regex.Matches(html, "\"ms_per_step\":").Count;
        Assert.InRange(embedded, HtmlReport.MaxStepPoints / 2, HtmlReport.MaxStepPoints + 1);
        Assert.Contains($"\"_step\":{steps - 1},", html);
    }

    [NodeFact]
    public void The_report_script_formats_distinct_ticks_pads_single_points_smooths_and_places_steps_in_epochs()
    {
        string core = Path.Combine(temp.Root, "report-core.js");
        using (var stream = typeof(HtmlReport).Assembly.GetManifestResourceStream("MixFit.Tracking.report-core.js")!)
        using (var file = File.Create(core))
        {
            stream.CopyTo(file);
        }

        string check = Path.Combine(temp.Root, "check.js");
        File.WriteAllText(check, """
            const R = require(process.argv[2]);
            const assert = require('assert');
            assert.deepStrictEqual(R.ticks(null, [0.25, 0.5, 0.75, 1]), ['0.25', '0.50', '0.75', '1.00']);
            assert.strictEqual(new Set(R.ticks(null, [0.7885, 0.789, 0.7895, 0.79])).size, 4);
            assert.deepStrictEqual(R.ticks(null, [32000, 32500, 33000]), ['32000', '32500', '33000']);
            const [lo, hi] = R.pad(0.79, 0.79);
            assert(lo < 0.79 && hi > 0.79 && hi - lo > 0.05, `pad(0.79, 0.79) = ${lo}, ${hi}`);
            assert.deepStrictEqual(R.pad(0, 0), [-0.5, 0.5]);
            assert.deepStrictEqual(R.smooth([[1, 2], [2, 2], [3, 2]], 0.9).map(p => +p[1].toFixed(12)), [2, 2, 2]);
            assert.deepStrictEqual(R.smooth([[1, 1], [2, 3]], 0), [[1, 1], [2, 3]]);
            assert.deepStrictEqual(R.smooth([[1, 1], [2, 3]], 0.5).map(p => p[1]), [1, (0.5 * 0.5 + 0.5 * 3) / 0.75]);
            const run = { started: 100, epochs: [{ _step: 0, _time: 110 }, { _step: 1, _time: 120 }],
              steps: [104, 109, 114, 119].map((t, i) => ({ _step: i, _time: t })), system: [{ _step: 3 }] };
            R.place(run);
            assert.deepStrictEqual(run.steps.map(s => s._x.epoch), [0.5, 1, 1.5, 2]);
            assert.deepStrictEqual(run.steps.map(s => s._x.step), [1, 2, 3, 4]);
            assert.deepStrictEqual(run.steps.map(s => s._x.time), [4, 9, 14, 19]);
            assert.deepStrictEqual(run.epochs.map(e => e._x.step), [2, 4]);
            console.log('report-core ok');
            """);
        var start = new System.Diagnostics.ProcessStartInfo(NodeFactAttribute.Node!, $"\"{check}\" \"{core}\"") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var node = System.Diagnostics.Process.Start(start)!;
        string output = node.StandardOutput.ReadToEnd() + node.StandardError.ReadToEnd();
        node.WaitForExit();
        Assert.True(node.ExitCode == 0, output);
        Assert.Contains("report-core ok", output);
    }

    [Fact]
    public void Png_charts_include_per_step_curves_loss_scale_and_system_panels()
    {
        var ids = TwoRuns();
        var store = temp.Open();
        var run = store.StartRun("sampled", new JsonObject { ["policy"] = "mixed_float16" });
        for (int second = 0; second < 3; second++)
        {
            run.Log("system", second, new Dictionary<string, double> { ["cpu"] = 50 + second, ["proc.memory.rssMB"] = 300, ["gpu.0.gpu"] = 90, ["gpu.0.memoryAllocated"] = 40 });
            run.Log("step", second, new Dictionary<string, double> { ["loss"] = 1, ["loss_scale"] = 65536, ["skipped_steps"] = second });
        }

        run.Finish();
        var names = PngReport.Write(store, ids.Append(run.Id).ToList(), Path.Combine(temp.Root, "png")).Select(Path.GetFileName).ToList();
        foreach (var expected in new[] { "loss_per_step.png", "loss_scale.png", "cpu.png", "system.png", "gpu0.png", "gpu0_memory.png", "accuracy.png" })
        {
            Assert.Contains(expected, names);
        }
    }

    [Fact]
    public void A_single_value_gets_a_padded_range_so_ticks_differ()
    {
        var (low, high) = PngReport.PaddedRange(0.79, 0.79);
        Assert.True(high - low > 0.05, $"{low}..{high}");
        Assert.Equal((-0.5, 0.5), PngReport.PaddedRange(0, 0));
        var (a, b) = PngReport.PaddedRange(1, 2);
        Assert.Equal(0.94, a, 10);
        Assert.Equal(2.06, b, 10);
    }
}
