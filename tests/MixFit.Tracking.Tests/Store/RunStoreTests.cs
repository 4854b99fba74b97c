using System.Diagnostics;
using System.Text.Json.Nodes;
using MixFit.Tracking.Store;

namespace MixFit.Tracking.Tests.Store;

public sealed class RunStoreTests : IDisposable
{
    private readonly TempStore temp = new();

    public void Dispose() => temp.Dispose();

    private static Dictionary<string, double> V(params (string, double)[] values) => values.ToDictionary(v => v.Item1, v => v.Item2);

    [Fact]
    public void A_run_round_trips_through_its_folder_and_the_index()
    {
        var store = temp.Open();
        var run = store.StartRun("baseline", new JsonObject { ["policy"] = "float32", ["lr"] = 0.001 }, tags: new[] { "cpu" }, notes: "first");
        run.Log("step", 0, V(("loss", 2.3), ("accuracy", 0.1)));
        run.Log("step", 1, V(("loss", 1.9)));
        run.Log("epoch", 0, V(("loss", 2.0), ("val_loss", 2.1)));
        run.UpdateSummary(V(("loss", 2.0), ("training_time", 12.5)));
        run.Finish();

        var reopened = temp.Open();
        var info = reopened.Get(run.Id[..12]);
        Assert.Equal("baseline", info.Name);
        Assert.Equal(RunStatus.Finished, info.Status);
        Assert.Equal(new[] { "cpu" }, info.Tags);
        Assert.Equal("first", info.Notes);
        Assert.Equal("float32", info.Config["policy"]!.ToString());
        Assert.Equal(12.5, info.Summary["training_time"]);
        var steps = reopened.Metrics(run.Id, "step");
        Assert.Equal(2, steps.Count);
        Assert.Equal(0.1, steps[0].Values["accuracy"]);
        Assert.Equal(1.9, steps[1].Values["loss"]);
        foreach (var file in new[] { "run.json", "config.json", "summary.json", "metrics.jsonl" })
        {
            Assert.True(File.Exists(Path.Combine(info.Folder, file)), file);
        }

        Assert.True(Directory.Exists(Path.Combine(info.Folder, "artifacts")));
    }

    [Fact]
    public void A_logged_dictionary_is_copied_when_logged_so_later_changes_do_not_reach_the_store()
    {
        var store = temp.Open();
        var run = store.StartRun("copies");
        var live = new Dictionary<string, double> { ["loss"] = 2.5 };
        run.Log("step", 0, live);
        live["loss"] = 99;                 // the caller reuses its dictionary before the background flush
        live["extra"] = 1;
        run.Finish();

        var step = temp.Open().Metrics(run.Id, "step").Single();
        Assert.Equal(2.5, step.Values["loss"]);
        Assert.False(step.Values.ContainsKey("extra"));
    }

    [Fact]
    public void A_run_whose_process_died_before_its_folder_was_written_still_lists_and_deletes()
    {
        // StartRun indexes first, then writes the folder: a kill in between leaves exactly this state.
        var store = temp.Open();
        var run = store.StartRun("killed-early");
        string folder = run.Info.Folder;
        run.Dispose();
        Directory.Delete(folder, recursive: true);

        var reopened = temp.Open();
        Assert.Contains(reopened.List(), r => r.Id == run.Id);
        reopened.Delete(run.Id);
        Assert.DoesNotContain(temp.Open().List(), r => r.Id == run.Id);
    }

    [Fact]
    public void A_copied_run_folder_imports_into_another_store_and_corrupt_lines_are_reported()
    {
        var store = temp.Open();
        var run = store.StartRun("portable", new JsonObject { ["policy"] = "mixed_bfloat16" });
        for (int i = 0; i < 5; i++)
        {
            run.Log("step", i, V(("loss", 1.0 / (i + 1))));
        }

        run.Finish();
        File.AppendAllText(Path.Combine(run.Folder, "metrics.jsonl"), "{\"kind\":\"step\",\"step\":5,\"ti\n");

        using var other = new TempStore();
        var report = other.Open().Import(run.Folder);
        Assert.Equal(run.Id, report.RunId);
        Assert.Equal(5, report.Records);
        var problem = Assert.Single(report.Problems);
        Assert.Contains("metrics.jsonl:6", problem);
        var imported = other.Open().Get(run.Id);
        Assert.Equal("mixed_bfloat16", imported.Config["policy"]!.ToString());
        Assert.StartsWith(other.Root, imported.Folder);
        Assert.Equal(5, other.Open().Metrics(run.Id, "step").Count);
    }

    [Fact]
    public void Deleting_a_run_removes_its_folder_and_rows()
    {
        var store = temp.Open();
        var run = store.StartRun("gone");
        run.Log("step", 0, V(("loss", 1)));
        run.Finish();
        store.Delete(run.Id);
        Assert.Empty(store.List());
        Assert.False(Directory.Exists(run.Folder));
        Assert.Throws<KeyNotFoundException>(() => store.Get(run.Id));
    }

    [Fact]
    public void A_disposed_unfinished_run_is_marked_failed()
    {
        var store = temp.Open();
        using (var run = store.StartRun("broken"))
        {
            run.Log("step", 0, V(("loss", 1)));
        }

        Assert.Equal(RunStatus.Failed, store.List().Single().Status);
        Assert.Single(store.Metrics(store.List().Single().Id, "step"));
    }

    private static string Host => Path.Combine(AppContext.BaseDirectory, "MixFit.Tracking.TestHost.dll");

    private static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Host);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info)!;
    }

    [Fact]
    public void A_process_killed_with_sigkill_leaves_its_run_crashed_with_its_flushed_metrics()
    {
        using var child = Start("hang", temp.Root, "doomed");
        Assert.Equal("ready", child.StandardOutput.ReadLine());
        child.Kill();
        Assert.True(child.WaitForExit(30_000));

        var store = temp.Open();
        var run = store.List().Single();
        Assert.Equal(RunStatus.Crashed, run.Status);
        Assert.Equal(10, store.Metrics(run.Id, "step").Count);
        Assert.Contains("\"Crashed\"", File.ReadAllText(Path.Combine(run.Folder, "run.json")));
    }

    [Fact]
    public void The_background_flush_alone_saves_what_a_sigkilled_process_logged()
    {
        using var child = Start("hang-unflushed", temp.Root, "doomed");
        Assert.Equal("ready", child.StandardOutput.ReadLine());
        var store = temp.Open();
        string id = store.List().Single().Id;

        // No explicit flush was made: wait (bounded) for the once-a-second flush to write the points.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (store.Metrics(id, "step").Count < 10 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
        }

        child.Kill();
        Assert.True(child.WaitForExit(30_000));
        var run = temp.Open().List().Single();
        Assert.Equal(RunStatus.Crashed, run.Status);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), temp.Open().Metrics(id, "step").Select(p => p.Step));
    }

    [Fact]
    public void Two_processes_logging_into_one_store_at_once_both_succeed()
    {
        temp.Open();
        using var a = Start("log", temp.Root, "a", "3000");
        using var b = Start("log", temp.Root, "b", "3000");
        Assert.True(a.WaitForExit(120_000) && b.WaitForExit(120_000));
        Assert.True(a.ExitCode == 0, a.StandardError.ReadToEnd());
        Assert.True(b.ExitCode == 0, b.StandardError.ReadToEnd());
        var store = temp.Open();
        Assert.Equal(2, store.List().Count);
        Assert.All(store.List(), r =>
        {
            Assert.Equal(RunStatus.Finished, r.Status);
            Assert.Equal(3000, store.Metrics(r.Id, "step").Count);
        });
    }

    [Fact]
    public void The_tee_keeps_only_the_final_state_of_redrawn_lines()
    {
        string path = Path.Combine(temp.Root, "out.log");
        var console = new StringWriter();
        using (var tee = new TeeTextWriter(console, path))
        {
            tee.Write("\r 1/10 [==>...]");
            tee.Write("\r10/10 [=====] - 1s\n");
            tee.WriteLine("Epoch 2/2");
        }

        Assert.Equal("10/10 [=====] - 1s\nEpoch 2/2\n", File.ReadAllText(path).Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Contains("\r 1/10", console.ToString());
    }

    [Fact]
    public void A_run_is_found_by_id_prefix_or_unique_name()
    {
        var store = temp.Open();
        var a = store.StartRun("baseline");
        var b = store.StartRun("twin");
        var c = store.StartRun("twin");
        foreach (var run in new[] { a, b, c })
        {
            run.Finish();
            run.Dispose();
        }

        Assert.Equal(a.Id, store.Get("baseline").Id);
        Assert.Equal(b.Id, store.Get(b.Id).Id);
        var e = Assert.Throws<KeyNotFoundException>(() => store.Get("twin"));
        Assert.Contains(b.Id, e.Message);
        Assert.Contains(c.Id, e.Message);
        Assert.Contains("runs list", Assert.Throws<KeyNotFoundException>(() => store.Get("nobody")).Message);
    }
}
