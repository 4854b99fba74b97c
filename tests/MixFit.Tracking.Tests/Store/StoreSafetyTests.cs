using System.Security.Cryptography;
using System.Text.Json.Nodes;
using MixFit.Tracking.Store;

namespace MixFit.Tracking.Tests.Store;

/// <summary>The run store lets nobody out: ids and paths are checked, links refused, bad lines skipped, reads write nothing.</summary>
public sealed class StoreSafetyTests : IDisposable
{
    private readonly TempStore temp = new();
    private readonly string outside = Directory.CreateTempSubdirectory("mixfit-outside-").FullName;

    public void Dispose()
    {
        temp.Dispose();
        Directory.Delete(outside, recursive: true);
    }

    private string CraftedFolder(string id)
    {
        string folder = Path.Combine(outside, "crafted-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "run.json"), new JsonObject { ["Id"] = id, ["Name"] = "crafted" }.ToJsonString());
        return folder;
    }

    /// <summary>A copy of a run folder's files (no subfolders) in a new folder outside the store.</summary>
    private string CopyOf(string runFolder, string name)
    {
        string copy = Path.Combine(outside, name);
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(runFolder))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        return copy;
    }

    private Dictionary<string, string> Snapshot(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(root, f),
            f => $"{new FileInfo(f).Length}:{File.GetLastWriteTimeUtc(f):O}:{Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))}");

    [Theory]
    [InlineData("..")]
    [InlineData("")]
    [InlineData("/tmp/mixfit-evil")]
    [InlineData("../../escaped")]
    [InlineData("20261201-150312-3fa9c2/../../x")]
    [InlineData("runs")]
    public void An_imported_id_that_is_not_a_run_id_is_refused_and_nothing_is_written(string id)
    {
        var store = temp.Open();
        var before = Snapshot(temp.Root);
        var e = Assert.Throws<InvalidDataException>(() => store.Import(CraftedFolder(id)));
        Assert.Contains("run.json", e.Message);
        Assert.Contains("is not a run id", e.Message);
        Assert.Equal(before, Snapshot(temp.Root));
        Assert.False(Directory.Exists("/tmp/mixfit-evil"));
        Assert.Empty(temp.Open().List());
    }

    [Fact]
    public void Every_path_the_store_uses_is_inside_it()
    {
        var store = temp.Open();
        Assert.StartsWith(Path.Combine(temp.Root, "runs") + Path.DirectorySeparatorChar, store.RunFolder("20261201-150312-3fa9c2"));
        Assert.Throws<InvalidDataException>(() => store.RunFolder(".."));
        Assert.Throws<InvalidDataException>(() => store.RunFolder(Path.Combine(outside, "20261201-150312-3fa9c2")));
        Assert.Throws<KeyNotFoundException>(() => store.Delete("/"));
    }

    [Fact]
    public void Import_refuses_symbolic_links_naming_them_and_leaves_nothing_behind()
    {
        var store = temp.Open();
        var run = store.StartRun("source");
        run.Log("step", 0, new Dictionary<string, double> { ["loss"] = 1 });
        run.Finish();
        string copy = CopyOf(run.Folder, "copy");

        string link = Path.Combine(copy, "artifacts-hostname");
        File.CreateSymbolicLink(link, "/etc/hostname");
        Directory.CreateSymbolicLink(Path.Combine(copy, "loop"), copy);
        var other = RunStore.Open(Path.Combine(outside, "other"));
        var e = Assert.Throws<InvalidDataException>(() => other.Import(copy));
        Assert.Contains("a symbolic link", e.Message);
        Assert.True(e.Message.Contains(link, StringComparison.Ordinal) || e.Message.Contains(Path.Combine(copy, "loop"), StringComparison.Ordinal), e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(other.RunsDirectory));
        Assert.Empty(other.List());
    }

    [Fact]
    public void Malformed_metric_lines_are_skipped_and_counted_by_line_and_a_huge_line_is_never_read()
    {
        var store = temp.Open();
        var run = store.StartRun("messy");
        run.Log("step", 0, new Dictionary<string, double> { ["loss"] = 1 });
        run.Log("step", 1, new Dictionary<string, double> { ["loss"] = 0.5 });
        run.Finish();
        string copy = CopyOf(run.Folder, "messy");

        string metrics = Path.Combine(copy, "metrics.jsonl");
        var good = File.ReadAllLines(metrics);
        string huge = "{\"kind\":\"step\",\"step\":9,\"time\":1,\"x\":\"" + new string('a', 3 * MetricsFile.MaxLineBytes) + "\"}";
        File.WriteAllLines(metrics, new[]
        {
            good[0],
            "{\"kind\": null, \"step\": 2, \"time\": 1, \"loss\": 1}",
            "{\"kind\": \"step\", \"step\": 3, \"time\": 1, \"loss\": 1e999}",
            "garbage {{{",
            huge,
            "{\"kind\": \"step\", \"step\": 4.5, \"time\": 1}",
            good[1],
        });
        var other = RunStore.Open(Path.Combine(outside, "other"));
        var report = other.Import(copy);
        Assert.Equal(2, report.Records);
        Assert.Equal(5, report.Problems.Count);
        Assert.Equal(new[] { 2, 3, 4, 5, 6 }, report.Problems.Select(p => int.Parse(p.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Contains(report.Problems, p => p.Contains("longer than", StringComparison.Ordinal));
        Assert.All(report.Problems, p => Assert.True(p.Length < 400, "a problem line must not echo the input"));
        Assert.Equal(new long[] { 0, 1 }, other.Metrics(run.Id, "step").Select(p => p.Step));
    }

    [Fact]
    public void Opening_for_reading_writes_nothing_and_refuses_to_write()
    {
        var store = temp.Open();
        var finished = store.StartRun("finished");
        finished.Log("step", 0, new Dictionary<string, double> { ["loss"] = 1 });
        finished.Finish();
        finished.Dispose();                                  // its background timer stops: no writer is left
        var abandoned = store.StartRun("abandoned");
        var info = abandoned.Info;
        abandoned.Dispose();

        // Its index row says running, with a stale heartbeat: the process died long ago without finishing it.
        store.Upsert(info with { Status = RunStatus.Running, Heartbeat = DateTimeOffset.UtcNow.AddHours(-1) });

        // As on a read-only mount, no writer is at work: its last connection has folded the WAL back into the database.
        string db = Path.Combine(temp.Root, "mixfit.db");
        Assert.False(File.Exists(db + "-wal") && File.Exists(db + "-shm"), "a writer is still connected");
        var before = Snapshot(temp.Root);

        var reader = RunStore.OpenReadOnly(temp.Root);
        Assert.True(reader.IsReadOnly);
        var runs = reader.List();
        Assert.Equal(RunStatus.Crashed, runs.Single(r => r.Name == "abandoned").Status);   // shown as crashed...
        Assert.Single(reader.Metrics(finished.Id, "step"));
        Assert.Equal("finished", reader.Get(finished.Id[..^1]).Name);            // a unique prefix
        var e = Assert.Throws<InvalidOperationException>(() => reader.StartRun("nope"));
        Assert.Contains(temp.Root, e.Message);
        Assert.Throws<InvalidOperationException>(() => reader.Delete(finished.Id));
        Assert.Equal(before, Snapshot(temp.Root));                                            // ...but nothing was written
    }

    [Fact]
    public void Reading_a_folder_without_a_store_says_so()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => RunStore.OpenReadOnly(Path.Combine(outside, "none")));
        Assert.Contains("No run store at", e.Message);
        Assert.False(Directory.Exists(Path.Combine(outside, "none")));
    }

    [Fact]
    public void A_live_run_is_deleted_only_with_force()
    {
        var store = temp.Open();
        var live = store.StartRun("live");
        live.Flush();
        var e = Assert.Throws<InvalidOperationException>(() => store.Delete(live.Id));
        Assert.Contains("still running", e.Message);
        Assert.Contains("--force", e.Message);
        Assert.True(Directory.Exists(live.Folder));
        store.Delete(live.Id, force: true);
        Assert.False(Directory.Exists(live.Folder));
        Assert.Empty(store.List());
        live.Dispose();
    }
}
