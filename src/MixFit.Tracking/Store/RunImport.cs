using System.Globalization;

namespace MixFit.Tracking.Store;

/// <summary>
/// Importing a run folder into a <see cref="RunStore"/>, all or nothing: the id is checked, symbolic links refused,
/// the folder staged inside the store and indexed in one transaction; any failure leaves neither folder nor row.
/// </summary>
internal static class RunImport
{
    /// <summary>Imports <paramref name="folder"/> into <paramref name="store"/> (see <see cref="RunStore.Import"/>).</summary>
    public static ImportReport Import(RunStore store, string folder)
    {
        string source = Path.GetFullPath(folder);
        RefuseLinks(source);
        var info = RunStore.ReadFolder(source);
        string target = store.RunFolder(RunId.Validate(info.Id, Path.Combine(source, "run.json")));
        bool inPlace = string.Equals(source.TrimEnd(Path.DirectorySeparatorChar), target, StringComparison.Ordinal);
        if (!inPlace && Directory.Exists(target))
        {
            throw new InvalidDataException($"{source}: run {info.Id} is already in {store.Root}; delete it there first to import it again.");
        }

        string staging = inPlace ? target : Path.Combine(store.RunsDirectory, $".import-{info.Id}-{Guid.NewGuid():N}");
        try
        {
            if (!inPlace)
            {
                CopyDirectory(source, staging);
            }

            var problems = new List<string>();
            var points = new List<MetricPoint>();
            foreach (var file in new[] { "metrics.jsonl", "system.jsonl" })
            {
                points.AddRange(MetricsFile.Read(Path.Combine(staging, file), problems));
            }

            info = info with { Folder = target };
            if (info.Status == RunStatus.Running && !RunStore.IsAlive(info))
            {
                info = info with { Status = RunStatus.Crashed };
            }

            using (var connection = store.Connect())
            using (var transaction = connection.BeginTransaction())
            {
                RunStore.Execute(connection, "DELETE FROM metrics WHERE run_id = $id", ("$id", info.Id));
                RunStore.Upsert(connection, info);
                RunStore.InsertMetrics(connection, info.Id, points);
                if (!inPlace)
                {
                    Directory.Move(staging, target);
                }

                transaction.Commit();
            }

            RunStore.WriteFolderFiles(info);
            return new ImportReport(info.Id, points.Count, problems);
        }
        catch
        {
            if (!inPlace && Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }

            if (!inPlace && Directory.Exists(target) && !IsIndexed(store, info.Id))
            {
                Directory.Delete(target, recursive: true);
            }

            throw;
        }
    }

    /// <summary>Copies a folder tree that <see cref="RefuseLinks"/> checked (it is checked again entry by entry).</summary>
    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var entry in new DirectoryInfo(source).EnumerateFileSystemInfos())
        {
            RefuseLink(entry);
            string destination = Path.Combine(target, entry.Name);
            if (entry is DirectoryInfo directory)
            {
                CopyDirectory(directory.FullName, destination);
            }
            else
            {
                File.Copy(entry.FullName, destination, overwrite: false);
            }
        }
    }

    /// <summary>Refuses a folder that is, or holds anywhere, a symbolic link (never followed: it could point anywhere).</summary>
    private static void RefuseLinks(string folder)
    {
        var root = new DirectoryInfo(folder);
        RefuseLink(root);
        var pending = new Stack<DirectoryInfo>(new[] { root });
        while (pending.Count > 0)
        {
            foreach (var entry in pending.Pop().EnumerateFileSystemInfos())
            {
                RefuseLink(entry);
                if (entry is DirectoryInfo directory)
                {
                    pending.Push(directory);
                }
            }
        }
    }

    private static void RefuseLink(FileSystemInfo entry)
    {
        if (entry.LinkTarget is not null)
        {
            throw new InvalidDataException($"{entry.FullName}: a symbolic link; run folders are imported without links (copy the file itself into the folder).");
        }
    }

    private static bool IsIndexed(RunStore store, string runId)
    {
        using var connection = store.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM runs WHERE id = $id";
        command.Parameters.AddWithValue("$id", runId);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
    }
}
