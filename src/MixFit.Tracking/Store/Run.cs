using System.Text.Json.Nodes;

namespace MixFit.Tracking.Store;

/// <summary>
/// A run being logged. <see cref="Log"/> only appends to an in-memory buffer; a background flush every second writes
/// the buffered records to <c>metrics.jsonl</c> / <c>system.jsonl</c> and to the index in one transaction, and
/// refreshes the heartbeat. A process killed mid-run therefore loses at most the last second of records.
/// </summary>
/// <example><code>
/// var store = RunStore.Open();
/// using var run = store.StartRun("my-loop", new JsonObject { ["lr"] = 1e-3 });
/// run.Log("step", step, new Dictionary&lt;string, double&gt; { ["loss"] = loss });
/// run.Finish();
/// </code></example>
public sealed class Run : IDisposable
{
    private readonly RunStore store;
    private readonly object gate = new();
    private readonly Timer flusher;
    private List<MetricPoint> pending = new();
    private RunInfo info;
    private TextWriter? originalOut;
    private TeeTextWriter? tee;
    private bool finished;

    internal Run(RunStore store, RunInfo info)
    {
        this.store = store;
        this.info = info;
        flusher = new Timer(_ => Flush(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>The run's id.</summary>
    public string Id => info.Id;

    /// <summary>The run's folder.</summary>
    public string Folder => info.Folder;

    /// <summary>The current metadata.</summary>
    public RunInfo Info
    {
        get
        {
            lock (gate)
            {
                return info;
            }
        }
    }

    /// <summary>Buffers one record of <paramref name="kind"/> (<c>step</c>, <c>epoch</c> or <c>system</c>) at <paramref name="step"/>.</summary>
    public void Log(string kind, long step, IReadOnlyDictionary<string, double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var point = new MetricPoint(kind, step, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, values);
        lock (gate)
        {
            pending.Add(point);
        }
    }

    /// <summary>Merges <paramref name="values"/> into the configuration and rewrites <c>config.json</c>.</summary>
    public void UpdateConfig(JsonObject values)
    {
        ArgumentNullException.ThrowIfNull(values);
        lock (gate)
        {
            foreach (var (key, value) in values)
            {
                info.Config[key] = value?.DeepClone();
            }

            RunStore.WriteFolderFiles(info);
        }

        store.Upsert(Info);
    }

    /// <summary>Sets summary values (last and best metrics, training time, peak memory) and rewrites <c>summary.json</c>.</summary>
    public void UpdateSummary(IReadOnlyDictionary<string, double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        lock (gate)
        {
            var summary = new Dictionary<string, double>(info.Summary);
            foreach (var (key, value) in values)
            {
                summary[key] = value;
            }

            info = info with { Summary = summary };
            RunStore.WriteFolderFiles(info);
        }

        store.Upsert(Info);
    }

    /// <summary>Copies everything written to the console from now on into <c>output.log</c> (redraws collapsed to their final line).</summary>
    public void CaptureConsole()
    {
        lock (gate)
        {
            if (tee is not null)
            {
                return;
            }

            originalOut = Console.Out;
            tee = new TeeTextWriter(originalOut, Path.Combine(Folder, "output.log"));
            Console.SetOut(tee);
        }
    }

    /// <summary>Writes buffered records now (also done every second in the background).</summary>
    public void Flush()
    {
        List<MetricPoint> batch;
        lock (gate)
        {
            batch = pending;
            pending = new List<MetricPoint>();
        }

        if (batch.Count > 0)
        {
            lock (store)
            {
                AppendLines(Path.Combine(Folder, "metrics.jsonl"), batch.Where(p => p.Kind != "system"));
                AppendLines(Path.Combine(Folder, "system.jsonl"), batch.Where(p => p.Kind == "system"));
            }

            store.AppendMetrics(Id, batch);
        }

        if (!finished)
        {
            var now = DateTimeOffset.UtcNow;
            lock (gate)
            {
                info = info with { Heartbeat = now };
            }

            store.Heartbeat(Id, now);
        }
    }

    /// <summary>Ends the run with <paramref name="status"/>: flushes, stops console capture, writes the final metadata.</summary>
    public void Finish(RunStatus status = RunStatus.Finished)
    {
        if (finished)
        {
            return;
        }

        flusher.Change(Timeout.Infinite, Timeout.Infinite);
        Flush();
        lock (gate)
        {
            finished = true;
            if (tee is not null)
            {
                Console.SetOut(originalOut!);
                tee.Dispose();
                tee = null;
            }

            info = info with { Status = status, EndedAt = DateTimeOffset.UtcNow };
            RunStore.WriteFolderFiles(info);
        }

        store.Upsert(Info);
    }

    /// <summary>Finishes the run as failed if nobody finished it (an exception escaped the training code).</summary>
    public void Dispose()
    {
        Finish(RunStatus.Failed);
        flusher.Dispose();
    }

    private static void AppendLines(string path, IEnumerable<MetricPoint> points)
    {
        var lines = points.Select(MetricsFile.Format).ToList();
        if (lines.Count > 0)
        {
            File.AppendAllLines(path, lines);
        }
    }
}
