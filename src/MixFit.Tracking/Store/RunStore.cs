using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

using MixFit.IO;

namespace MixFit.Tracking.Store;

/// <summary>
/// The local experiment store: one portable folder per run under <c>runs/</c>, indexed in an SQLite database
/// (<c>mixfit.db</c>, WAL mode) for listing and comparing. The folders are the truth: the index can be rebuilt from them
/// (<see cref="Import"/>), and a folder copied to another machine imports there.
/// </summary>
/// <remarks>
/// Default location: <c>./mixfit-runs</c>, or the <c>MIXFIT_RUNS_DIR</c> environment variable. Opening the store marks
/// runs whose process died (same host and the process is gone, or no heartbeat for <see cref="CrashAfter"/>) as crashed.
/// Several processes may log into one store at once (WAL, busy timeout).
/// </remarks>
public sealed class RunStore
{
    /// <summary>Environment variable that moves the default store.</summary>
    public const string EnvironmentVariable = "MIXFIT_RUNS_DIR";

    /// <summary>A running run without a heartbeat for this long is considered crashed.</summary>
    public static readonly TimeSpan CrashAfter = TimeSpan.FromSeconds(60);

    // NaN and infinities are values a diverging run must show (W&B and TensorBoard show them): JSON writes them as "NaN" etc.
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    private static readonly JsonSerializerOptions CompactJson = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private readonly bool readOnly;

    private RunStore(string root, bool readOnly, bool checkIndex = true)
    {
        Root = root;
        this.readOnly = readOnly;
        if (readOnly && !checkIndex)
        {
            return;
        }

        if (readOnly)
        {
            if (!Exists(root))
            {
                int folders = RunFolders().Count();
                throw new DirectoryNotFoundException(folders > 0
                    ? $"The run store at {root} has no index (mixfit.db) but {folders} run folder(s): `mixfit runs repair` rebuilds the index from them."
                    : $"No run store at {root} (no mixfit.db there yet): `mixfit train` or `mixfit compare` create one, or give --store / ${EnvironmentVariable}.");
            }

            CheckIndexReadable();
            return;
        }

        try
        {
            Directory.CreateDirectory(RunsDirectory);
            CheckIndexReadable();
            CreateSchema();
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException or SqliteException)
        {
            throw new IOException($"{root}: the run store cannot be written ({e.Message}). Reading commands (runs list/show/compare/export, report) still work there.", e);
        }
    }

    private void CreateSchema()
    {
        using var connection = Connect();
        Execute(connection, """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS runs (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, project TEXT NOT NULL, tags TEXT NOT NULL, notes TEXT NOT NULL,
                status TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, heartbeat TEXT NOT NULL, host TEXT NOT NULL,
                pid INTEGER NOT NULL, folder TEXT NOT NULL, config TEXT NOT NULL, summary TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS metrics (
                run_id TEXT NOT NULL, kind TEXT NOT NULL, step INTEGER NOT NULL, time REAL NOT NULL, name TEXT NOT NULL, value REAL NOT NULL);
            CREATE INDEX IF NOT EXISTS metrics_by_run ON metrics (run_id, kind, name, step);
            """);
        connection.Close();
        MarkCrashed();
    }

    /// <summary>The store's folder.</summary>
    public string Root { get; }

    /// <summary>Where run folders live.</summary>
    public string RunsDirectory => Path.Combine(Root, "runs");

    /// <summary>Whether this store was opened for reading only (<see cref="OpenReadOnly"/>).</summary>
    public bool IsReadOnly => readOnly;

    private string DatabasePath => DatabaseIn(Root);

    /// <summary>The default store folder: <c>MIXFIT_RUNS_DIR</c> or <c>./mixfit-runs</c>.</summary>
    public static string DefaultRoot => Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } dir ? dir : Path.GetFullPath("mixfit-runs");

    /// <summary>Whether a store (its <c>mixfit.db</c>) exists at <paramref name="root"/>; asks the file system only.</summary>
    public static bool Exists(string root) => File.Exists(DatabaseIn(Path.GetFullPath(root)));

    private static string DatabaseIn(string root) => Path.Combine(root, "mixfit.db");

    /// <summary>Opens (creating if needed) the store at <paramref name="root"/> (default <see cref="DefaultRoot"/>) for reading and writing.</summary>
    /// <exception cref="IOException">The folder cannot be written; the message names it and says what still works.</exception>
    public static RunStore Open(string? root = null) => new(Path.GetFullPath(root ?? DefaultRoot), readOnly: false);

    /// <summary>
    /// Opens an existing store for reading only: nothing is written (no schema, pragma or crash marking; runs whose
    /// process died are shown as crashed without recording it), so it works on a read-only mount.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">There is no store at <paramref name="root"/>.</exception>
    public static RunStore OpenReadOnly(string? root = null) => new(Path.GetFullPath(root ?? DefaultRoot), readOnly: true);

    /// <summary>
    /// The folder of run <paramref name="id"/>: the id is checked against <see cref="RunId"/>'s format and the resolved
    /// path against the store, so nothing the store writes, copies or deletes can be outside it.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a run id.</exception>
    public string RunFolder(string id)
    {
        RunId.Validate(id, Root);
        string folder = Path.GetFullPath(Path.Combine(RunsDirectory, id));
        string runs = Path.GetFullPath(RunsDirectory) + Path.DirectorySeparatorChar;
        return folder.StartsWith(runs, StringComparison.Ordinal) && folder.Length > runs.Length
            ? folder
            : throw new InvalidDataException($"{Root}: run \"{id}\" resolves outside the store ({folder}).");
    }

    /// <summary>Starts a run: indexes it, creates its folder, writes <c>run.json</c> and <c>config.json</c>, and returns the logger.</summary>
    public Run StartRun(string name, JsonObject? config = null, string project = "mixfit", IEnumerable<string>? tags = null, string notes = "")
    {
        RequireWritable("start a run");
        string id = RunId.New();
        var now = DateTimeOffset.UtcNow;
        var info = new RunInfo
        {
            Id = id, Name = name, Project = project, Tags = (tags ?? Array.Empty<string>()).ToArray(), Notes = notes,
            StartedAt = now, Heartbeat = now, Host = Environment.MachineName, Pid = Environment.ProcessId,
            Config = config ?? new JsonObject(), Folder = RunFolder(id),
        };
        // Indexed first: a process killed at any later point (an aborted MPI job kills its ranks at once) leaves a
        // run that lists as crashed, never a folder the index does not know.
        Upsert(info);
        Directory.CreateDirectory(Path.Combine(info.Folder, "artifacts"));
        WriteFolderFiles(info);
        return new Run(this, info);
    }

    /// <summary>
    /// Continues run <paramref name="id"/> (finished, killed, failed or crashed) from this process: status back to
    /// running, its end time cleared, host and pid this process's; new records append to its files and index.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No such run.</exception>
    /// <exception cref="InvalidOperationException">The run is still being logged by a live process.</exception>
    public Run ResumeRun(string id)
    {
        RequireWritable("resume a run");
        var run = Get(id);
        if (run.Status == RunStatus.Running && IsAlive(run))
        {
            throw new InvalidOperationException($"Run {run.Id} is still running (pid {run.Pid} on {run.Host}); it cannot be resumed twice.");
        }

        var now = DateTimeOffset.UtcNow;
        var info = run with
        {
            Status = RunStatus.Running, EndedAt = null, Heartbeat = now, Host = Environment.MachineName, Pid = Environment.ProcessId, Folder = RunFolder(run.Id),
        };
        Directory.CreateDirectory(Path.Combine(info.Folder, "artifacts"));
        WriteFolderFiles(info);
        Upsert(info);
        return new Run(this, info);
    }

    /// <summary>Every run, newest first (a running run whose process is gone is shown as crashed).</summary>
    public IReadOnlyList<RunInfo> List() =>
        ListIndexed().Select(run => run.Status == RunStatus.Running && !IsAlive(run) ? run with { Status = RunStatus.Crashed } : run).ToList();

    /// <summary>Every run with a valid id, as the index records it.</summary>
    private List<RunInfo> ListIndexed() => Query(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, name, project, tags, notes, status, started_at, ended_at, heartbeat, host, pid, folder, config, summary FROM runs ORDER BY started_at DESC";
        using var reader = command.ExecuteReader();
        var runs = new List<RunInfo>();
        while (reader.Read())
        {
            var run = ReadRun(reader);
            if (RunId.IsValid(run.Id))
            {
                runs.Add(run);
            }
        }

        return runs;
    });

    /// <summary>One run by id, a unique id prefix, or a unique run name.</summary>
    /// <exception cref="KeyNotFoundException">No run, or an ambiguous prefix or name; the message says which.</exception>
    public RunInfo Get(string idOrPrefix)
    {
        ArgumentNullException.ThrowIfNull(idOrPrefix);
        var runs = List();
        var matches = runs.Where(r => r.Id.StartsWith(idOrPrefix, StringComparison.Ordinal)).ToList();
        if (matches.Count == 0)
        {
            matches = runs.Where(r => string.Equals(r.Name, idOrPrefix, StringComparison.Ordinal)).ToList();
        }

        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new KeyNotFoundException($"No run \"{idOrPrefix}\" in {Root} (give a run id, a unique prefix of one, or a unique run name; `mixfit runs list` shows them)."),
            _ => throw new KeyNotFoundException($"\"{idOrPrefix}\" matches {matches.Count} runs ({string.Join(", ", matches.Select(m => m.Id))}); give more of the id."),
        };
    }

    /// <summary>A run's records of one kind (<c>step</c>, <c>epoch</c> or <c>system</c>), in step order, from the index.</summary>
    public IReadOnlyList<MetricPoint> Metrics(string runId, string kind) => Query<IReadOnlyList<MetricPoint>>(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT step, time, name, value FROM metrics WHERE run_id = $id AND kind = $kind ORDER BY step, time";
        command.Parameters.AddWithValue("$id", runId);
        command.Parameters.AddWithValue("$kind", kind);
        using var reader = command.ExecuteReader();
        var points = new List<MetricPoint>();
        Dictionary<string, double>? values = null;
        long currentStep = long.MinValue;
        double currentTime = 0;
        while (reader.Read())
        {
            long step = reader.GetInt64(0);
            double time = reader.GetDouble(1);
            if (values is null || step != currentStep || Math.Abs(time - currentTime) > 1e-6)
            {
                if (values is not null)
                {
                    points.Add(new MetricPoint(kind, currentStep, currentTime, values));
                }

                values = new Dictionary<string, double>();
                currentStep = step;
                currentTime = time;
            }

            values[reader.GetString(2)] = reader.GetValue(3) switch
            {
                double d => d,
                long l => l,
                string text => double.Parse(text, CultureInfo.InvariantCulture),
                _ => double.NaN,
            };
        }

        if (values is not null)
        {
            points.Add(new MetricPoint(kind, currentStep, currentTime, values));
        }

        return points;
    });

    /// <summary>Deletes a run's folder and index rows.</summary>
    /// <param name="runId">The run's id (or a unique prefix).</param>
    /// <param name="force">Also delete a run that is still being logged (its process alive, its heartbeat fresh).</param>
    /// <exception cref="InvalidOperationException">The run is live and <paramref name="force"/> is false.</exception>
    public void Delete(string runId, bool force = false)
    {
        RequireWritable("delete a run");
        var run = Get(runId);
        if (run.Status == RunStatus.Running && IsAlive(run) && !force)
        {
            throw new InvalidOperationException(
                $"Run {run.Id} ({run.Name}) is still running (pid {run.Pid} on {run.Host}, heartbeat {run.Heartbeat:O}); stop it first or delete it with --force.");
        }

        // The folder is moved out of the way first (one rename), so a live writer never writes into a folder being
        // deleted: from here its folder is gone, and once the rows are gone too it stops recording (Run).
        string folder = RunFolder(run.Id);
        string doomed = Path.Combine(RunsDirectory, $".deleting-{run.Id}-{Guid.NewGuid():N}");
        bool moved = Directory.Exists(folder);
        if (moved)
        {
            Directory.Move(folder, doomed);
        }

        using (var connection = Connect())
        using (var transaction = connection.BeginTransaction())
        {
            Execute(connection, "DELETE FROM metrics WHERE run_id = $id", ("$id", run.Id));
            Execute(connection, "DELETE FROM runs WHERE id = $id", ("$id", run.Id));
            transaction.Commit();
        }

        if (moved)
        {
            Directory.Delete(doomed, recursive: true);
        }
    }

    /// <summary>
    /// Imports a run folder (from this or another machine), all or nothing: the id in its <c>run.json</c> must have the
    /// store's format, no entry may be a symbolic link, the folder is copied under <see cref="RunsDirectory"/> (unless it
    /// is already there) and indexed in one transaction; any failure leaves neither a folder nor an index row.
    /// Malformed lines of <c>metrics.jsonl</c> / <c>system.jsonl</c> are skipped, counted and reported by line number.
    /// </summary>
    /// <exception cref="InvalidDataException">No readable <c>run.json</c>, a bad id, or a symbolic link (named).</exception>
    public ImportReport Import(string folder)
    {
        RequireWritable("import a run");
        return RunImport.Import(this, folder);
    }

    /// <summary>
    /// Refuses an output (a report, an export) whose path, links followed, is one of this store's own files or
    /// folders: the index (<c>mixfit.db</c> and its journal files), the store or runs folder, a run folder, or any file
    /// already in the store. A new file or folder inside a run folder (a run's <c>tensorboard/</c> export) is allowed.
    /// </summary>
    /// <param name="storeRoot">The store's folder (it need not exist yet).</param>
    /// <param name="path">The file or folder about to be written.</param>
    /// <param name="what">What it is, for the message (e.g. "The report file").</param>
    /// <exception cref="ArgumentException">The path is one of the store's files or folders; the message names both.</exception>
    public static void RefuseOutput(string storeRoot, string path, string what)
    {
        string target = OutputPaths.Resolve(path);
        string root = OutputPaths.Resolve(storeRoot);
        string runs = Path.Combine(root, "runs");
        bool own = target == root || target == runs || Path.GetDirectoryName(target) == runs
            || (target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) && File.Exists(target))
            || new[] { "mixfit.db", "mixfit.db-wal", "mixfit.db-shm", "mixfit.db-journal" }.Any(name => target == Path.Combine(root, name));
        if (own)
        {
            throw new ArgumentException($"{what} {path} is one of the run store's own files or folders ({storeRoot}), which the store alone writes; write the output somewhere else.");
        }
    }

    /// <summary>
    /// Brings the index back in line with the run folders (the truth). A readable index is kept and the run folders it
    /// lacks are indexed in place; an unreadable <c>mixfit.db</c> is kept aside as <c>mixfit.db.unreadable-TIMESTAMP</c>
    /// (never deleted) and a new index is built from every folder. A folder that cannot be indexed is reported and left
    /// as it is. Refused while a run is being recorded (its writer would race the rebuild).
    /// </summary>
    /// <returns>The runs indexed, the metric records read, and one line per folder or record that could not be read.</returns>
    /// <exception cref="DirectoryNotFoundException">No <c>runs/</c> folder at <paramref name="root"/>.</exception>
    /// <exception cref="InvalidOperationException">A run is still being recorded (named).</exception>
    public static RepairReport Repair(string? root = null)
    {
        string full = Path.GetFullPath(root ?? DefaultRoot);
        if (!Directory.Exists(Path.Combine(full, "runs")))
        {
            throw new DirectoryNotFoundException($"No run store at {full} (no runs/ folder): nothing to repair.");
        }

        var probe = new RunStore(full, readOnly: true, checkIndex: false);
        foreach (var folder in probe.RunFolders())
        {
            RunInfo info;
            try
            {
                info = ReadFolder(folder);
            }
            catch (InvalidDataException)
            {
                continue;    // reported when indexing
            }

            if (info.Status == RunStatus.Running && IsAlive(info))
            {
                throw new InvalidOperationException($"Run {info.Id} ({info.Name}) is still being recorded (pid {info.Pid} on {info.Host}); repair the store when no run is.");
            }
        }

        string database = DatabaseIn(full);
        bool readable = File.Exists(database);
        try
        {
            probe.CheckIndexReadable();
        }
        catch (InvalidDataException)
        {
            readable = false;
        }

        string? keptAs = null;
        if (File.Exists(database) && !readable)
        {
            keptAs = $"{database}.unreadable-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
            File.Move(database, keptAs);
            foreach (var suffix in new[] { "-wal", "-shm", "-journal" })
            {
                if (File.Exists(database + suffix))
                {
                    File.Move(database + suffix, keptAs + suffix);
                }
            }
        }

        var store = new RunStore(full, readOnly: false);
        var (runs, records, problems) = store.Reindex(readable ? store.UnindexedFolders() : store.RunFolders());
        return new RepairReport(runs, records, problems, keptAs);
    }

    /// <summary>Indexes <paramref name="folders"/> in place (none of them in the index yet); returns what it did.</summary>
    private (int Runs, int Records, IReadOnlyList<string> Problems) Reindex(IEnumerable<string> folders)
    {
        int runs = 0, records = 0;
        var problems = new List<string>();
        foreach (var folder in folders.ToList())
        {
            try
            {
                var report = RunImport.Import(this, folder);
                runs++;
                records += report.Records;
                problems.AddRange(report.Problems);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or JsonException or SqliteException or UnauthorizedAccessException)
            {
                problems.Add($"{folder}: not indexed ({e.Message})");
            }
        }

        return (runs, records, problems);
    }

    /// <summary>
    /// The run folders under <c>runs/</c> that the index does not hold (an index deleted and made anew, a folder copied
    /// in by hand): <c>mixfit runs repair</c> indexes them. Reads the folder names and the index's ids only.
    /// </summary>
    public IReadOnlyList<string> UnindexedFolders()
    {
        var indexed = Query(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT id FROM runs";
            using var reader = command.ExecuteReader();
            var ids = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read())
            {
                ids.Add(reader.GetString(0));
            }

            return ids;
        });
        return RunFolders().Where(folder => !indexed.Contains(Path.GetFileName(folder))).ToList();
    }

    /// <summary>Whether <paramref name="root"/> holds run folders (whatever the state of its index); asks the file system only.</summary>
    public static bool HasRunFolders(string root)
    {
        string runs = Path.Combine(Path.GetFullPath(root), "runs");
        return Directory.Exists(runs) && Directory.EnumerateDirectories(runs).Any(d => RunId.IsValid(Path.GetFileName(d)));
    }

    /// <summary>The run folders under <c>runs/</c> (staging folders of an import, which start with a dot, left out).</summary>
    private IEnumerable<string> RunFolders() =>
        Directory.Exists(RunsDirectory)
            ? Directory.EnumerateDirectories(RunsDirectory).Where(d => RunId.IsValid(Path.GetFileName(d))).Order(StringComparer.Ordinal)
            : Enumerable.Empty<string>();

    /// <summary>An index SQLite cannot read (not a database, or a damaged one) is named as such, with the way out.</summary>
    private void CheckIndexReadable()
    {
        if (!File.Exists(DatabasePath))
        {
            return;
        }

        try
        {
            // Through Query: a read-only store on a full or read-only disk is read as immutable, as every read is.
            Query(connection =>
            {
                Execute(connection, "SELECT COUNT(*) FROM sqlite_master");
                return 0;
            });
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 26 or 11)
        {
            throw new InvalidDataException(
                $"{DatabasePath}: the run index is unreadable ({e.Message.TrimEnd('.')}); the run folders are intact: `mixfit runs repair` rebuilds the index from them (the unreadable file is kept aside).", e);
        }
    }

    /// <summary>Reads <c>run.json</c>, <c>config.json</c> and <c>summary.json</c> of a run folder.</summary>
    public static RunInfo ReadFolder(string folder)
    {
        string runJson = Path.Combine(folder, "run.json");
        try
        {
            var info = JsonSerializer.Deserialize<RunInfo>(File.ReadAllText(runJson), Json)
                ?? throw new InvalidDataException($"{runJson}: empty.");
            var config = File.Exists(Path.Combine(folder, "config.json"))
                ? JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))) as JsonObject ?? new JsonObject()
                : new JsonObject();
            var summary = File.Exists(Path.Combine(folder, "summary.json"))
                ? JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(Path.Combine(folder, "summary.json")), CompactJson) ?? new()
                : new Dictionary<string, double>();
            return info with { Config = config, Summary = summary, Folder = folder };
        }
        catch (Exception e) when (e is JsonException or FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidDataException($"{runJson}: not a MixFit run folder ({e.Message}).", e);
        }
    }

    internal void Upsert(RunInfo info)
    {
        RequireWritable("update a run");
        using var connection = Connect();
        Upsert(connection, info);
    }

    internal static void Upsert(SqliteConnection connection, RunInfo info)
    {
        Execute(connection, """
            INSERT INTO runs (id, name, project, tags, notes, status, started_at, ended_at, heartbeat, host, pid, folder, config, summary)
            VALUES ($id, $name, $project, $tags, $notes, $status, $started, $ended, $heartbeat, $host, $pid, $folder, $config, $summary)
            ON CONFLICT(id) DO UPDATE SET name=$name, project=$project, tags=$tags, notes=$notes, status=$status, started_at=$started,
                ended_at=$ended, heartbeat=$heartbeat, host=$host, pid=$pid, folder=$folder, config=$config, summary=$summary
            """,
            ("$id", info.Id), ("$name", info.Name), ("$project", info.Project), ("$tags", JsonSerializer.Serialize(info.Tags)), ("$notes", info.Notes),
            ("$status", info.Status.ToString()), ("$started", info.StartedAt.ToString("O")), ("$ended", (object?)info.EndedAt?.ToString("O") ?? DBNull.Value),
            ("$heartbeat", info.Heartbeat.ToString("O")), ("$host", info.Host), ("$pid", info.Pid), ("$folder", info.Folder),
            ("$config", info.Config.ToJsonString()), ("$summary", JsonSerializer.Serialize(info.Summary, CompactJson)));
    }

    /// <summary>Whether the index holds <paramref name="runId"/>'s row; null when the index cannot be read.</summary>
    internal bool? IsIndexed(string runId)
    {
        try
        {
            using var connection = Connect();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM runs WHERE id = $id";
            command.Parameters.AddWithValue("$id", runId);
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Updates a run's index row (never inserts one); false when the row is gone (the run was deleted).</summary>
    internal bool Update(RunInfo info)
    {
        RequireWritable("update a run");
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE runs SET name=$name, tags=$tags, notes=$notes, status=$status, ended_at=$ended, heartbeat=$heartbeat, config=$config, summary=$summary
            WHERE id = $id
            """;
        command.Parameters.AddWithValue("$id", info.Id);
        command.Parameters.AddWithValue("$name", info.Name);
        command.Parameters.AddWithValue("$tags", JsonSerializer.Serialize(info.Tags));
        command.Parameters.AddWithValue("$notes", info.Notes);
        command.Parameters.AddWithValue("$status", info.Status.ToString());
        command.Parameters.AddWithValue("$ended", (object?)info.EndedAt?.ToString("O") ?? DBNull.Value);
        command.Parameters.AddWithValue("$heartbeat", info.Heartbeat.ToString("O"));
        command.Parameters.AddWithValue("$config", info.Config.ToJsonString());
        command.Parameters.AddWithValue("$summary", JsonSerializer.Serialize(info.Summary, CompactJson));
        return command.ExecuteNonQuery() > 0;
    }

    internal void Heartbeat(string runId, DateTimeOffset time)
    {
        RequireWritable("record a heartbeat");
        using var connection = Connect();
        Execute(connection, "UPDATE runs SET heartbeat = $t WHERE id = $id", ("$t", time.ToString("O")), ("$id", runId));
    }

    /// <summary>Appends metric records in one transaction.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="points">The records.</param>
    /// <param name="requireRow">Write only if the run's index row exists (its folder is gone: it may have been deleted).</param>
    /// <returns>False, with nothing written, when <paramref name="requireRow"/> and the row is gone (the run was deleted).</returns>
    internal bool AppendMetrics(string runId, IReadOnlyList<MetricPoint> points, bool requireRow = false)
    {
        RequireWritable("log metrics");
        using var connection = Connect();
        using var transaction = connection.BeginTransaction();
        if (requireRow)
        {
            using var exists = connection.CreateCommand();
            exists.CommandText = "SELECT COUNT(*) FROM runs WHERE id = $id";
            exists.Parameters.AddWithValue("$id", runId);
            if (Convert.ToInt64(exists.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
            {
                return false;
            }
        }

        if (points.Count > 0)
        {
            InsertMetrics(connection, runId, points);
        }

        transaction.Commit();
        return true;
    }

    internal static void InsertMetrics(SqliteConnection connection, string runId, IReadOnlyList<MetricPoint> points)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO metrics (run_id, kind, step, time, name, value) VALUES ($id, $kind, $step, $time, $name, $value)";
        var id = command.Parameters.Add("$id", SqliteType.Text);
        var kind = command.Parameters.Add("$kind", SqliteType.Text);
        var step = command.Parameters.Add("$step", SqliteType.Integer);
        var time = command.Parameters.Add("$time", SqliteType.Real);
        var name = command.Parameters.Add("$name", SqliteType.Text);
        var value = command.Parameters.Add("$value", SqliteType.Real);
        command.Prepare();
        id.Value = runId;
        foreach (var point in points)
        {
            kind.Value = point.Kind;
            step.Value = point.Step;
            time.Value = point.Time;
            foreach (var (metric, v) in point.Values)
            {
                name.Value = metric;
                // SQLite turns a NaN into NULL: keep it as the text 'NaN' (infinities are REAL values there).
                value.SqliteType = double.IsNaN(v) ? SqliteType.Text : SqliteType.Real;
                value.Value = double.IsNaN(v) ? "NaN" : v;
                command.ExecuteNonQuery();
            }
        }
    }

    internal static void WriteFolderFiles(RunInfo info, bool createFolder = true)
    {
        if (!createFolder && !Directory.Exists(info.Folder))
        {
            throw new DirectoryNotFoundException($"{info.Folder}: the run folder is gone.");
        }

        MixFit.IO.AtomicFile.WriteAllText(Path.Combine(info.Folder, "run.json"), JsonSerializer.Serialize(info with { Config = new JsonObject(), Summary = new Dictionary<string, double>(), Folder = "" }, Json));
        MixFit.IO.AtomicFile.WriteAllText(Path.Combine(info.Folder, "config.json"), info.Config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        MixFit.IO.AtomicFile.WriteAllText(Path.Combine(info.Folder, "summary.json"), JsonSerializer.Serialize(info.Summary, Json));
    }

    internal static bool IsAlive(RunInfo info)
    {
        if (DateTimeOffset.UtcNow - info.Heartbeat > CrashAfter)
        {
            return false;
        }

        if (!string.Equals(info.Host, Environment.MachineName, StringComparison.Ordinal))
        {
            return true;
        }

        try
        {
            using var process = Process.GetProcessById(info.Pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private void RequireWritable(string what)
    {
        if (readOnly)
        {
            throw new InvalidOperationException($"{Root}: the run store was opened read-only; cannot {what}.");
        }
    }

    private static RunInfo ReadRun(SqliteDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Name = reader.GetString(1),
        Project = reader.GetString(2),
        Tags = JsonSerializer.Deserialize<string[]>(reader.GetString(3)) ?? Array.Empty<string>(),
        Notes = reader.GetString(4),
        Status = Enum.Parse<RunStatus>(reader.GetString(5)),
        StartedAt = DateTimeOffset.Parse(reader.GetString(6), CultureInfo.InvariantCulture),
        EndedAt = reader.IsDBNull(7) ? null : DateTimeOffset.Parse(reader.GetString(7), CultureInfo.InvariantCulture),
        Heartbeat = DateTimeOffset.Parse(reader.GetString(8), CultureInfo.InvariantCulture),
        Host = reader.GetString(9),
        Pid = reader.GetInt32(10),
        Folder = reader.GetString(11),
        Config = JsonNode.Parse(reader.GetString(12)) as JsonObject ?? new JsonObject(),
        Summary = JsonSerializer.Deserialize<Dictionary<string, double>>(reader.GetString(13), CompactJson) ?? new(),
    };

    private void MarkCrashed()
    {
        foreach (var run in ListIndexed().Where(r => r.Status == RunStatus.Running && !IsAlive(r)))
        {
            string folder = RunFolder(run.Id);
            var crashed = run with { Status = RunStatus.Crashed, Folder = folder };
            Upsert(crashed);
            if (Directory.Exists(folder))
            {
                WriteFolderFiles(crashed);
            }
        }
    }

    /// <summary>
    /// Runs a read. A read-only store whose WAL reader cannot work (a full or read-only disk under a writer's -shm file)
    /// is read again as immutable: what the last checkpointed state holds, rather than an error.
    /// </summary>
    private T Query<T>(Func<SqliteConnection, T> read)
    {
        try
        {
            using var connection = Connect();
            return read(connection);
        }
        catch (SqliteException) when (readOnly)
        {
            using var connection = Connect(immutable: true);
            return read(connection);
        }
    }

    internal SqliteConnection Connect(bool immutable = false)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath, DefaultTimeout = 30, Pooling = false, Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
        };

        // Reading writes nothing: without a writer (no -wal/-shm files) the database is read as immutable, since a WAL
        // reader would create those files; with a writer at work it is read through the writer's WAL.
        immutable |= readOnly && !(File.Exists(DatabasePath + "-wal") && File.Exists(DatabasePath + "-shm"));
        if (immutable)
        {
            builder.DataSource = new Uri(DatabasePath).AbsoluteUri + "?immutable=1";
        }

        // (A WAL reader that cannot open or read, e.g. on a read-only mount, is retried as immutable by Query.)
        var connection = new SqliteConnection(builder.ToString());
        connection.Open();

        if (!readOnly)
        {
            Execute(connection, "PRAGMA busy_timeout=30000;");
        }

        return connection;
    }

    internal static void Execute(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        command.ExecuteNonQuery();
    }
}
