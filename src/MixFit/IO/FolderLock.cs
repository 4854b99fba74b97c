using System.Collections.Concurrent;
using System.Globalization;

namespace MixFit.IO;

/// <summary>
/// One writer per folder: an exclusive, advisory operating-system lock on <c>.mixfit.lock</c> inside a folder that
/// MixFit writes as a unit (a checkpoint folder, a comparison's output folder). The kernel drops the lock when the
/// holding process ends, however it ends (a SIGKILLed run leaves no stale lock); a second writer fails at once.
/// </summary>
/// <remarks>
/// <para>Advisory: it binds MixFit processes (and any program that takes the same lock); it does not stop a program
/// that writes without asking. On Linux and macOS it is <c>flock</c>, taken by .NET's <see cref="FileShare.None"/>
/// (so <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c> turns it off).</para>
/// <para>Taking the lock writes nothing but the empty lock file, the first time: a refused or failed run leaves the
/// folder as it was. Who holds it is found when someone else asks: the process that has the lock file open (from
/// <c>/proc</c> on Linux, with its command line), or this process with what it is doing.</para>
/// </remarks>
public sealed class FolderLock : IDisposable
{
    /// <summary>The lock file's name inside the folder.</summary>
    public const string FileName = ".mixfit.lock";

    // The locks this process holds, by lock file, with what each is for (a second writer in this process is named so).
    private static readonly ConcurrentDictionary<string, string> HeldHere = new(StringComparer.Ordinal);

    private readonly FileStream handle;
    private readonly string path;

    private FolderLock(string folder, string path, FileStream handle)
    {
        Folder = folder;
        this.path = path;
        this.handle = handle;
    }

    /// <summary>The locked folder (full path).</summary>
    public string Folder { get; }

    /// <summary>
    /// Locks <paramref name="folder"/> (created when missing) for <paramref name="purpose"/> (e.g. "mixfit train").
    /// Never waits: a folder another process holds fails at once.
    /// </summary>
    /// <exception cref="FolderLockedException">Another process (or another writer in this one) holds the folder; the message names both.</exception>
    /// <exception cref="IOException">The folder cannot be created or the lock file cannot be opened (e.g. a read-only place).</exception>
    public static FolderLock Acquire(string folder, string purpose)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentException.ThrowIfNullOrEmpty(purpose);
        string full = Path.GetFullPath(folder);
        Directory.CreateDirectory(full);
        string path = Path.Combine(full, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && IsHeld(path))
        {
            throw new FolderLockedException(full, Describe(path), e);
        }

        HeldHere[path] = purpose;
        return new FolderLock(full, path, stream);
    }

    /// <summary>Who holds <paramref name="folder"/>'s lock, or null when nobody does.</summary>
    public static string? Holder(string folder)
    {
        string path = Path.Combine(Path.GetFullPath(folder), FileName);
        return File.Exists(path) && IsHeld(path) ? Describe(path) : null;
    }

    /// <summary>Releases the lock (the empty lock file stays, for the next writer).</summary>
    public void Dispose()
    {
        HeldHere.TryRemove(path, out _);
        handle.Dispose();
    }

    /// <summary>Whether opening the lock file exclusively fails because someone holds it (not for another reason).</summary>
    private static bool IsHeld(string path)
    {
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>The holder in words: this process and its purpose, or the process that has the file open, or "another process".</summary>
    private static string Describe(string path)
    {
        if (HeldHere.TryGetValue(path, out var purpose))
        {
            return string.Create(CultureInfo.InvariantCulture, $"this process ({Environment.ProcessId}, {purpose})");
        }

        try
        {
            foreach (var process in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(process), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid == Environment.ProcessId)
                {
                    continue;
                }

                try
                {
                    if (Directory.EnumerateFileSystemEntries(Path.Combine(process, "fd")).Any(fd => new FileInfo(fd).LinkTarget == path))
                    {
                        string command = File.ReadAllText(Path.Combine(process, "cmdline")).Replace('\0', ' ').Trim();
                        command = command.Length > 160 ? command[..157] + "..." : command;
                        return string.Create(CultureInfo.InvariantCulture, $"process {pid} on {Environment.MachineName} ({command})");
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // A process that ended meanwhile, or one this user may not look into.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No /proc (not Linux).
        }

        return "another process";
    }
}
