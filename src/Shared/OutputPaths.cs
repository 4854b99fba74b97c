namespace MixFit.IO;

/// <summary>
/// Outputs never clobber inputs: before a command writes a file or folder it names, the path (resolved: absolute, every
/// symbolic link along it followed) is compared with what the command reads and with the folders it must not write
/// into (a run store, a checkpoint folder). A clash is refused with one line naming the option, both paths and what
/// the protected one is; nothing is written.
/// </summary>
/// <remarks>One source file compiled into the tracker and the jobs layer, which check what the core is asked to write.</remarks>
internal static class OutputPaths
{
    /// <summary>
    /// Refuses <paramref name="output"/> (given as <paramref name="option"/>) when it resolves to one of
    /// <paramref name="inputs"/> (each with what it is, e.g. "the --data CSV"), or lies inside one of
    /// <paramref name="protectedFolders"/> (each with what it is, e.g. "the run store").
    /// </summary>
    /// <exception cref="ArgumentException">The output is an input or inside a protected folder; the message names both.</exception>
    public static void Refuse(string output, string option, IEnumerable<(string? Path, string What)> inputs, IEnumerable<(string? Folder, string What)>? protectedFolders = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(output);
        string target = Resolve(output);
        foreach (var (path, what) in inputs)
        {
            if (path is not null && SamePath(target, Resolve(path)))
            {
                throw new ArgumentException($"{option} {output} is {what} ({path}), which this command reads; write the output somewhere else.");
            }
        }

        foreach (var (folder, what) in protectedFolders ?? Enumerable.Empty<(string?, string)>())
        {
            if (folder is not null && IsInside(target, Resolve(folder)))
            {
                throw new ArgumentException($"{option} {output} is inside {what} ({folder}), which MixFit alone writes; write the output somewhere else.");
            }
        }
    }

    /// <summary>
    /// The absolute path with every symbolic link along it followed, component by component as the kernel walks it
    /// (so a <c>..</c> after a link goes up from where the link points); as far as the path exists, at most 40 links.
    /// </summary>
    public static string Resolve(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string absolute = Path.IsPathRooted(path) ? path : Path.Combine(Directory.GetCurrentDirectory(), path);
        string root = Path.GetPathRoot(absolute) ?? "/";
        var parts = new Queue<string>(absolute[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        string resolved = root;
        int links = 0;
        while (parts.Count > 0)
        {
            string part = parts.Dequeue();
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                resolved = Path.GetDirectoryName(resolved) ?? root;
                continue;
            }

            string next = Path.Combine(resolved, part);
            FileSystemInfo entry = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (entry.Exists && entry.LinkTarget is { } target && links++ < 40)
            {
                // Follow the link, then go on with the rest of the path from where it points.
                string pointed = Path.IsPathRooted(target) ? target : Path.Combine(resolved, target);
                string pointedRoot = Path.GetPathRoot(pointed) ?? "/";
                parts = new Queue<string>(pointed[pointedRoot.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Concat(parts));
                resolved = pointedRoot;
                continue;
            }

            resolved = next;
        }

        return resolved;
    }

    private static bool SamePath(string a, string b) => string.Equals(a.TrimEnd(Path.DirectorySeparatorChar), b.TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal);

    private static bool IsInside(string path, string folder) =>
        SamePath(path, folder) || path.StartsWith(folder.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
}
