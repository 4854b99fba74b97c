using MixFit.Tracking.Store;

namespace MixFit.Tracking.Tests.Store;

/// <summary>The run folders are the truth: an unreadable or deleted index is said to be so and rebuilt from them.</summary>
public sealed class RunStoreRepairTests : IDisposable
{
    private readonly TempStore temp = new();

    public void Dispose() => temp.Dispose();

    private string Database => Path.Combine(temp.Root, "mixfit.db");

    /// <summary>Two finished runs with 5 and 7 step records and an epoch record each; their ids.</summary>
    private string[] TwoRuns()
    {
        var store = temp.Open();
        var ids = new List<string>();
        foreach (var (name, steps) in new[] { ("first", 5), ("second", 7) })
        {
            using var run = store.StartRun(name);
            for (int i = 0; i < steps; i++)
            {
                run.Log("step", i, new Dictionary<string, double> { ["loss"] = 1.0 / (i + 1) });
            }

            run.Log("epoch", 0, new Dictionary<string, double> { ["loss"] = 0.5 });
            run.Finish();
            ids.Add(run.Id);
        }

        return ids.ToArray();
    }

    private void RemoveIndex()
    {
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(Database + suffix);
        }
    }

    private void AssertRebuilt(RunStore store, string[] ids)
    {
        var runs = store.List();
        Assert.Equal(ids.Order(), runs.Select(r => r.Id).Order());
        Assert.All(runs, r => Assert.Equal(RunStatus.Finished, r.Status));
        Assert.Equal(5, store.Metrics(ids[0], "step").Count);
        Assert.Equal(7, store.Metrics(ids[1], "step").Count);
        Assert.Single(store.Metrics(ids[1], "epoch"));
    }

    [Fact]
    public void A_corrupted_index_is_named_with_the_way_out_and_repair_rebuilds_it_keeping_the_old_file()
    {
        var ids = TwoRuns();
        RemoveIndex();
        var garbage = Enumerable.Range(0, 8192).Select(i => (byte)(i * 31)).ToArray();
        File.WriteAllBytes(Database, garbage);

        var read = Assert.Throws<InvalidDataException>(() => RunStore.OpenReadOnly(temp.Root).List());
        Assert.Contains("mixfit.db: the run index is unreadable", read.Message);
        Assert.Contains("`mixfit runs repair`", read.Message);
        Assert.Throws<InvalidDataException>(() => temp.Open());

        var report = RunStore.Repair(temp.Root);
        Assert.Equal(2, report.Runs);
        Assert.Equal(5 + 7 + 2, report.Records);
        Assert.Empty(report.Problems);
        Assert.NotNull(report.KeptAs);
        Assert.Equal(garbage, File.ReadAllBytes(report.KeptAs!));
        AssertRebuilt(RunStore.OpenReadOnly(temp.Root), ids);
    }

    [Fact]
    public void A_deleted_index_is_named_by_readers_a_new_one_lists_the_unindexed_folders_and_repair_indexes_them()
    {
        var ids = TwoRuns();
        RemoveIndex();

        var read = Assert.Throws<DirectoryNotFoundException>(() => RunStore.OpenReadOnly(temp.Root));
        Assert.Contains("has no index (mixfit.db) but 2 run folder(s)", read.Message);
        Assert.True(RunStore.HasRunFolders(temp.Root));

        // A writer makes a new, empty index (it never re-indexes behind a live run's back); the folders are named.
        var store = temp.Open();
        Assert.Empty(store.List());
        Assert.Equal(ids.Order(), store.UnindexedFolders().Select(Path.GetFileName).Order());

        var report = RunStore.Repair(temp.Root);
        Assert.Equal(2, report.Runs);
        AssertRebuilt(RunStore.OpenReadOnly(temp.Root), ids);
        Assert.Empty(RunStore.OpenReadOnly(temp.Root).UnindexedFolders());
    }

    [Fact]
    public void Repair_reports_a_folder_it_cannot_index_and_indexes_the_rest()
    {
        var ids = TwoRuns();
        File.WriteAllText(Path.Combine(temp.Root, "runs", ids[0], "run.json"), "{ torn");
        RemoveIndex();

        var report = RunStore.Repair(temp.Root);
        Assert.Equal(1, report.Runs);
        Assert.Contains(report.Problems, p => p.Contains(ids[0], StringComparison.Ordinal) && p.Contains("not indexed", StringComparison.Ordinal));
        Assert.Null(report.KeptAs);
        Assert.Equal(ids[1], RunStore.OpenReadOnly(temp.Root).List().Single().Id);
    }

    [Fact]
    public void Repair_keeps_a_readable_index_indexes_only_the_folders_it_lacks_and_waits_for_live_runs()
    {
        var ids = TwoRuns();
        // A folder the index lacks: the second run's row goes, its folder stays.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Database};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"DELETE FROM runs WHERE id = '{ids[1]}'; DELETE FROM metrics WHERE run_id = '{ids[1]}'";
            command.ExecuteNonQuery();
        }

        Assert.Equal(new[] { ids[1] }, temp.Open().UnindexedFolders().Select(Path.GetFileName));
        var report = RunStore.Repair(temp.Root);
        Assert.Null(report.KeptAs);
        Assert.Equal(1, report.Runs);
        Assert.Empty(Directory.GetFiles(temp.Root, "mixfit.db.unreadable-*"));
        AssertRebuilt(RunStore.OpenReadOnly(temp.Root), ids);

        using var live = temp.Open().StartRun("live");
        var refused = Assert.Throws<InvalidOperationException>(() => RunStore.Repair(temp.Root));
        Assert.Contains($"Run {live.Id} (live) is still being recorded", refused.Message);
        live.Finish();
    }
}
