using System.Diagnostics;
using MixFit.Tracking.Store;

namespace MixFit.Tracking.Tests.Store;

/// <summary>
/// Deleting a live run (<c>runs delete --force</c>) is final: the live writer notices, says so once, and never
/// re-creates the folder or the index row, whether it goes on logging, updates its summary or finishes.
/// </summary>
public sealed class RunDeleteTests : IDisposable
{
    private readonly TempStore temp = new();

    public void Dispose() => temp.Dispose();

    private static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MixFit.Tracking.TestHost.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info)!;
    }

    [Fact]
    public async Task A_run_deleted_while_a_live_process_logs_it_stays_deleted_through_more_records_a_summary_and_the_finish()
    {
        string signal = Path.Combine(temp.Root, "go");
        using var child = Start("finish-on-signal", temp.Root, "doomed", signal);
        var error = child.StandardError.ReadToEndAsync();
        Assert.Equal("ready", child.StandardOutput.ReadLine());
        var store = temp.Open();
        var run = store.List().Single();
        Assert.Equal(RunStatus.Running, run.Status);

        var refused = Assert.Throws<InvalidOperationException>(() => store.Delete(run.Id));
        Assert.Contains("still running", refused.Message);
        store.Delete(run.Id, force: true);

        // Two background flushes of the live writer, then its last records, summary and finish.
        Thread.Sleep(2500);
        File.WriteAllText(signal, "");
        Assert.True(child.WaitForExit(60_000));
        Assert.Equal(0, child.ExitCode);
        Assert.Equal("finished, deleted: True", child.StandardOutput.ReadToEnd().Trim());
        var said = (await error).Trim().Split('\n');
        Assert.Single(said);
        Assert.Contains($"run {run.Id} was deleted", said[0]);

        var after = temp.Open();
        Assert.Empty(after.List());
        Assert.Empty(after.Metrics(run.Id, "step"));
        Assert.False(Directory.Exists(after.RunFolder(run.Id)), "the writer re-created the deleted run's folder");
    }
}
