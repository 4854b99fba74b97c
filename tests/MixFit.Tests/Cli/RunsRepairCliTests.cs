using MixFit.Tracking.Store;

namespace MixFit.Tests.Cli;

/// <summary>`mixfit runs list` says when the index is unreadable, and `mixfit runs repair` rebuilds it from the run folders.</summary>
public sealed class RunsRepairCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-repair-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void A_corrupted_index_is_reported_in_one_line_and_runs_repair_brings_the_runs_back()
    {
        string id;
        using (var run = RunStore.Open(dir).StartRun("kept"))
        {
            run.Log("epoch", 0, new Dictionary<string, double> { ["loss"] = 0.25 });
            run.Finish();
            id = run.Id;
        }

        foreach (var suffix in new[] { "-wal", "-shm" })
        {
            File.Delete(Path.Combine(dir, "mixfit.db" + suffix));
        }

        File.WriteAllText(Path.Combine(dir, "mixfit.db"), new string('x', 4096));
        var broken = CliRunner.Run("runs", "list", "--store", dir);
        Assert.Equal(2, broken.ExitCode);
        Assert.Single(broken.Error.Trim().Split('\n'));
        Assert.Contains("unreadable", broken.Error);
        Assert.Contains("mixfit runs repair", broken.Error);

        var repair = CliRunner.Run("runs", "repair", "--store", dir);
        Assert.True(repair.ExitCode == 0, repair.Error);
        Assert.Contains("Indexed 1 run(s) with 1 records", repair.Output);
        Assert.Contains("the old index is kept as", repair.Output);

        var listed = CliRunner.Run("runs", "list", "--store", dir);
        Assert.True(listed.ExitCode == 0, listed.Error);
        Assert.Contains(id, listed.Output);
        Assert.Contains("finished", listed.Output);
    }
}
