namespace MixFit.Data;

/// <summary>Keeps image names from a CSV inside the images folder they were given with.</summary>
internal static class ImagePaths
{
    /// <summary>
    /// Whether <paramref name="name"/> (relative, no <c>..</c>) names a path inside <paramref name="folder"/> once every
    /// symbolic link on the way, the file's own included, is followed. Decided without revealing whether the file exists.
    /// </summary>
    public static bool StaysInside(string folder, string name)
    {
        if (Path.IsPathRooted(name) || name.Split('/', '\\').Any(segment => segment == ".."))
        {
            return false;
        }

        string root = Resolve(Path.GetFullPath(folder));
        string current = root;
        foreach (var segment in name.Split('/', '\\', StringSplitOptions.RemoveEmptyEntries))
        {
            current = Resolve(Path.Combine(current, segment));
            if (!Inside(root, current))
            {
                return false;
            }
        }

        return Inside(root, current);
    }

    private static bool Inside(string root, string path) =>
        path.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>The path with a symbolic link at its last component followed to its final target (absolute); a path that is no link stays as it is.</summary>
    private static string Resolve(string path)
    {
        FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        if (info.LinkTarget is null)
        {
            return path;
        }

        var target = info.ResolveLinkTarget(returnFinalTarget: true);
        return target is null ? path : Path.GetFullPath(target.FullName);
    }
}
