using MixFit.Tracking.Export;
using MixFit.Tracking.Store;

namespace MixFit.Tracking.Tests.Store;

/// <summary>Tracking never kills training: failed writes are reported once and retried, NaN and infinities are kept.</summary>
public sealed class TrackingSafetyTests : IDisposable
{
    private readonly TempStore temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Nan_and_infinite_values_are_stored_and_shown_like_any_other()
    {
        var store = temp.Open();
        var run = store.StartRun("diverging");
        run.Log("step", 0, new Dictionary<string, double> { ["loss"] = 2.3, ["loss_scale"] = 32768 });
        run.Log("step", 1, new Dictionary<string, double> { ["loss"] = double.NaN, ["grad"] = double.PositiveInfinity, ["low"] = double.NegativeInfinity });
        run.UpdateSummary(new Dictionary<string, double> { ["loss"] = double.NaN, ["loss.best"] = 2.3 });
        run.Finish();

        var reopened = temp.Open();
        var steps = reopened.Metrics(run.Id, "step");
        Assert.True(double.IsNaN(steps[1].Values["loss"]));
        Assert.Equal(double.PositiveInfinity, steps[1].Values["grad"]);
        Assert.Equal(double.NegativeInfinity, steps[1].Values["low"]);
        var info = reopened.Get(run.Id);
        Assert.Equal(RunStatus.Finished, info.Status);
        Assert.True(double.IsNaN(info.Summary["loss"]));
        Assert.True(double.IsNaN(RunStore.ReadFolder(run.Folder).Summary["loss"]));

        // The folder re-imports with the same values, and the exports carry them.
        var other = RunStore.Open(Path.Combine(temp.Root, "other"));
        var report = other.Import(run.Folder);
        Assert.Empty(report.Problems);
        Assert.True(double.IsNaN(other.Metrics(run.Id, "step")[1].Values["loss"]));
        string csv = Path.Combine(temp.Root, "run.csv");
        RunExporter.ToCsv(reopened, run.Id, csv);
        Assert.Contains("NaN", File.ReadAllText(csv));
    }

    [Fact]
    public void A_failing_flush_is_reported_once_keeps_the_records_and_writes_them_once_when_it_can()
    {
        var store = temp.Open();
        var run = store.StartRun("flaky-disk");
        var errors = new StringWriter();
        run.ErrorOutput = errors;
        run.Log("step", 0, new Dictionary<string, double> { ["loss"] = 1 });
        Assert.True(run.Flush());

        // The run folder disappears (a user deleted it, a full disk, an unmounted volume).
        string kept = run.Folder + ".kept";
        Directory.Move(run.Folder, kept);
        run.Log("step", 1, new Dictionary<string, double> { ["loss"] = 0.5 });
        Assert.False(run.Flush());
        run.Log("step", 2, new Dictionary<string, double> { ["loss"] = 0.25 });
        Assert.False(run.Flush());
        Assert.Equal(2, run.PendingRecords);
        var reported = errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(reported);
        Assert.Contains("Training continues", reported[0]);
        Assert.Contains(run.Id, reported[0]);
        Assert.True(run.WriteErrors.Count >= 2);

        Directory.Move(kept, run.Folder);
        Assert.True(run.Flush());
        Assert.Equal(0, run.PendingRecords);
        run.Finish();
        Assert.Equal(new long[] { 0, 1, 2 }, temp.Open().Metrics(run.Id, "step").Select(p => p.Step));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(run.Folder, "metrics.jsonl")).Length);
        Assert.True(File.Exists(Path.Combine(run.Folder, "tracking-errors.log")));
        Assert.False(temp.Open().Get(run.Id).Summary.ContainsKey("tracking.unwritten_records"));
    }

    [Fact]
    public void A_failing_index_retries_the_index_alone_without_writing_a_line_twice()
    {
        var store = temp.Open();
        var run = store.StartRun("lost-index");
        run.ErrorOutput = new StringWriter();
        string db = Path.Combine(temp.Root, "mixfit.db");
        foreach (var file in new[] { db, db + "-wal", db + "-shm" }.Where(File.Exists))
        {
            File.Delete(file);
        }

        run.Log("step", 0, new Dictionary<string, double> { ["loss"] = 1 });
        Assert.False(run.Flush());                                   // the new, empty database has no tables
        Assert.Single(File.ReadAllLines(Path.Combine(run.Folder, "metrics.jsonl")));

        temp.Open();                                                  // the schema is back
        Assert.True(run.Flush());
        Assert.Single(File.ReadAllLines(Path.Combine(run.Folder, "metrics.jsonl")));
        Assert.Single(temp.Open().Metrics(run.Id, "step"));
        run.Finish();
    }

    [Fact]
    public void What_could_not_be_written_by_the_end_is_counted_in_the_summary()
    {
        var store = temp.Open();
        var run = store.StartRun("never-written");
        run.ErrorOutput = new StringWriter();
        string kept = run.Folder + ".kept";
        Directory.Move(run.Folder, kept);
        run.Log("step", 0, new Dictionary<string, double> { ["loss"] = 1 });
        run.Log("step", 1, new Dictionary<string, double> { ["loss"] = 2 });
        run.Finish();                                                 // never throws
        Assert.Equal(2, temp.Open().Get(run.Id).Summary["tracking.unwritten_records"]);
        Assert.Equal(RunStatus.Finished, temp.Open().Get(run.Id).Status);
    }
}
