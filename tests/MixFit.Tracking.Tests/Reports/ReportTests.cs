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
    public void Png_charts_are_images_of_the_requested_size()
    {
        var ids = TwoRuns();
        var files = PngReport.Write(temp.Open(), ids, Path.Combine(temp.Root, "png"), 640, 400);
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
}
