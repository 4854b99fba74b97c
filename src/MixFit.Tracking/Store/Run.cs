using System.Text.Json.Nodes;

namespace MixFit.Tracking.Store;

/// <summary>
/// A run being logged. <see cref="Log"/> only appends to an in-memory buffer; a background flush every second writes
/// the buffered records to <c>metrics.jsonl</c> / <c>system.jsonl</c> and to the index in one transaction, and
/// refreshes the heartbeat. A process killed mid-run therefore loses at most the last second of records.
/// </summary>
/// <remarks>
/// Tracking never kills training: a failed write (disk full, run folder deleted, database locked or read-only) is
/// reported once on standard error, the records stay buffered and are retried at the next flush, and what could not be
/// written by the end is counted in the summary (<c>tracking.unwritten_records</c>) and described in
/// <c>tracking-errors.log</c> when the folder can take it. NaN and infinite values are stored and read back as such.
/// A run deleted while it is logged (<c>mixfit runs delete --force</c>) stays deleted: the writer notices that its
/// folder and its index row are gone, says so once, and records nothing more (<see cref="IsDeleted"/>); it never
/// re-creates either. (A folder gone while its row is there is a failed write, retried; a row gone while its folder is
/// there, an index made anew, is written again: the folders are the truth.)
/// </remarks>
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
    private readonly object flushGate = new();
    private readonly Timer flusher;
    private List<MetricPoint> pending = new();
    private RunInfo info;
    private TextWriter? originalOut;
    private TeeTextWriter? tee;
    private readonly List<string> errors = new();
    private readonly List<MetricPoint> unindexed = new();
    private bool finished;
    private bool reported;
    private bool deleted;

    internal Run(RunStore store, RunInfo info, TextWriter? errorOutput = null)
    {
        this.store = store;
        this.info = info;
        ErrorOutput = errorOutput;
        flusher = new Timer(_ => Flush(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>Where the one-time report of a failed write goes; null: standard error.</summary>
    internal TextWriter? ErrorOutput { get; set; }

    /// <summary>Writes that failed so far (each retried), with their causes.</summary>
    public IReadOnlyList<string> WriteErrors
    {
        get
        {
            lock (gate)
            {
                return errors.ToArray();
            }
        }
    }

    /// <summary>Records not yet written to the folder or the index (retried at the next flush).</summary>
    public int PendingRecords
    {
        get
        {
            lock (flushGate)
            {
                lock (gate)
                {
                    return pending.Count + unindexed.Count;
                }
            }
        }
    }

    /// <summary>Whether the run was deleted from the store while it was logged; nothing is recorded from then on.</summary>
    public bool IsDeleted
    {
        get
        {
            lock (gate)
            {
                return deleted;
            }
        }
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

        // A copy, taken on the caller's thread: the background flush must never read a caller's live dictionary
        // (a trainer's lazily read step logs, or one it keeps changing).
        var copy = new Dictionary<string, double>(values, StringComparer.Ordinal);
        var point = new MetricPoint(kind, step, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, copy);
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
        }

        if (Gone())
        {
            return;
        }

        Guarded("the config files", () => RunStore.WriteFolderFiles(Info, createFolder: false));
        Guarded("the config in the index", () => Update());
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
        }

        if (Gone())
        {
            return;
        }

        Guarded("the summary files", () => RunStore.WriteFolderFiles(Info, createFolder: false));
        Guarded("the summary in the index", () => Update());
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

    /// <summary>The writer that tees into this run's <c>output.log</c> while <see cref="CaptureConsole"/> is on (the console's stand-in), else null.</summary>
    public TextWriter? CapturedConsole
    {
        get
        {
            lock (gate)
            {
                return tee;
            }
        }
    }

    /// <summary>
    /// Writes buffered records now (also done every second in the background). Never throws for a failed write: the
    /// records stay buffered for the next flush (see the remarks).
    /// </summary>
    /// <returns>Whether everything buffered was written.</returns>
    public bool Flush()
    {
        lock (flushGate)
        {
            if (Gone())
            {
                return false;
            }

            // Two queues: records not yet in the folder's files, and records in the files but not yet in the index, so
            // a retry never writes a line twice.
            List<MetricPoint> batch;
            lock (gate)
            {
                batch = pending;
                pending = new List<MetricPoint>();
            }

            bool filed = batch.Count == 0 || Guarded("metrics", () =>
            {
                lock (store)
                {
                    AppendLines(Path.Combine(Folder, "metrics.jsonl"), batch.Where(p => p.Kind != "system"));
                    AppendLines(Path.Combine(Folder, "system.jsonl"), batch.Where(p => p.Kind == "system"));
                }
            });
            if (!filed)
            {
                lock (gate)
                {
                    batch.AddRange(pending);
                    pending = batch;
                }
            }
            else
            {
                unindexed.AddRange(batch);
            }

            bool known = true;
            bool indexed = unindexed.Count == 0 || Guarded("the metrics index", () =>
            {
                lock (store)
                {
                    known = store.AppendMetrics(Id, unindexed, requireRow: !Directory.Exists(Folder));
                }
            });
            if (!known)
            {
                MarkDeleted();
                return false;
            }

            if (indexed)
            {
                unindexed.Clear();
            }

            bool written = filed && indexed;

            if (!finished)
            {
                var now = DateTimeOffset.UtcNow;
                lock (gate)
                {
                    info = info with { Heartbeat = now };
                }

                Guarded("the heartbeat", () => store.Heartbeat(Id, now));
            }

            return written;
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
        bool gone = Gone();
        lock (gate)
        {
            finished = true;
            if (tee is not null)
            {
                Console.SetOut(originalOut!);
                tee.Dispose();
                tee = null;
            }

            var summary = info.Summary;
            if (pending.Count + unindexed.Count > 0)
            {
                summary = new Dictionary<string, double>(summary) { ["tracking.unwritten_records"] = pending.Count + unindexed.Count };
            }

            info = info with { Status = status, EndedAt = DateTimeOffset.UtcNow, Summary = summary };
        }

        if (gone)
        {
            return;
        }

        Guarded("the final status files", () => RunStore.WriteFolderFiles(Info, createFolder: false));
        Guarded("the final status in the index", () => Update());
        if (WriteErrors.Count > 0)
        {
            Guarded("tracking-errors.log", () => File.WriteAllLines(Path.Combine(Folder, "tracking-errors.log"), WriteErrors), report: false);
        }
    }

    /// <summary>Finishes the run as failed if nobody finished it (an exception escaped the training code).</summary>
    public void Dispose()
    {
        Finish(RunStatus.Failed);
        flusher.Dispose();
    }

    /// <summary>
    /// Writes the index row: inserted again if it is gone while the folder is there (the folders are the truth: an index
    /// made anew), only updated while the folder is gone, and a row gone with its folder means the run was deleted.
    /// </summary>
    private void Update()
    {
        if (Directory.Exists(Folder))
        {
            store.Upsert(Info);
        }
        else if (!store.Update(Info))
        {
            MarkDeleted();
        }
    }

    /// <summary>
    /// Whether the run was deleted (now or before): its folder is gone and so is its index row. A folder that is gone
    /// while the row is there (a full or unmounted disk, a folder moved away) is a failed write, retried; so is an
    /// index that cannot be read. Says so once.
    /// </summary>
    private bool Gone()
    {
        lock (gate)
        {
            if (deleted)
            {
                return true;
            }
        }

        if (Directory.Exists(Folder) || store.IsIndexed(Id) != false)
        {
            return false;
        }

        MarkDeleted();
        return true;
    }

    private void MarkDeleted()
    {
        lock (gate)
        {
            if (deleted)
            {
                return;
            }

            deleted = true;
            pending.Clear();
            if (tee is not null)
            {
                Console.SetOut(originalOut!);
                tee.Dispose();
                tee = null;
            }
        }

        lock (flushGate)
        {
            unindexed.Clear();
        }

        try
        {
            flusher.Change(Timeout.Infinite, Timeout.Infinite);
        }
        catch (ObjectDisposedException)
        {
            // Already finished and disposed: nothing flushes any more.
        }

        (ErrorOutput ?? Console.Error).WriteLine($"mixfit: run {Id} was deleted from {store.Root} while it ran; training goes on without recording it.");
    }

    /// <summary>Runs a write; on failure records it, reports the first failure once, and returns false (training goes on).</summary>
    private bool Guarded(string what, Action write, bool report = true)
    {
        try
        {
            write();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException or InvalidOperationException or ArgumentException)
        {
            string line = $"{DateTimeOffset.UtcNow:O} could not write {what} of run {Id} in {Folder}: {e.GetType().Name}: {e.Message}";
            bool first;
            lock (gate)
            {
                errors.Add(line);
                first = !reported && report;
                reported |= report;
            }

            if (first)
            {
                (ErrorOutput ?? Console.Error).WriteLine($"mixfit: tracking {line[(line.IndexOf(' ', StringComparison.Ordinal) + 1)..]}. Training continues; the tracker retries every second and records what it could not write.");
            }

            return false;
        }
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
