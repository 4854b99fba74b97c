using System.Globalization;

namespace MixFit.IO;

/// <summary>
/// One writer per folder: an exclusive, advisory operating-system lock on <c>.mixfit.lock</c> inside a folder that
/// MixFit writes as a unit (a checkpoint folder, a comparison's output folder). The kernel drops the lock when the
/// holding process ends, however it ends (a SIGKILLed run leaves no stale lock); a second writer fails at once.
/// </summary>
/// <remarks>
/// <para>Advisory: it binds MixFit processes (and any program that takes the same lock); it does not stop a program
/// that writes without asking. On Linux and macOS it is <c>flock</c>, taken by .NET's <see cref="FileShare.None"/>.</para>
/// <para>Who holds it is written beside it, to <c>.mixfit.lock.owner</c> (process id, machine, start time and what
/// it is doing), for the message the next writer gets; that file is only information and may be stale.</para>
/// </remarks>
public sealed class FolderLock : IDisposable
{
    /// <summary>The lock file's name inside the folder.</summary>
    public const string FileName = ".mixfit.lock";

    /// <summary>The name of the file that says who holds the lock.</summary>
    public const string OwnerFileName = ".mixfit.lock.owner";

    private readonly FileStream handle;

    private FolderLock(string folder, FileStream handle)
    {
        Folder = folder;
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
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && IsHeldElsewhere(path))
        {
            throw new FolderLockedException(full, Owner(full), e);
        }

        try
        {
            string owner = string.Create(
                CultureInfo.InvariantCulture,
                $"process {Environment.ProcessId} on {Environment.MachineName} ({purpose}, since {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC)");
            AtomicFile.WriteAllText(Path.Combine(full, OwnerFileName), owner);
            return new FolderLock(full, stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Who holds <paramref name="folder"/>'s lock, as its owner file says, or null when nobody does.</summary>
    public static string? Holder(string folder)
    {
        string full = Path.GetFullPath(folder);
        string path = Path.Combine(full, FileName);
        return File.Exists(path) && IsHeldElsewhere(path) ? Owner(full) : null;
    }

    /// <summary>Releases the lock (the owner file is left: it is only information).</summary>
    public void Dispose() => handle.Dispose();

    /// <summary>Whether opening the lock file exclusively fails because someone holds it (not for another reason).</summary>
    private static bool IsHeldElsewhere(string path)
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

    private static string Owner(string folder)
    {
        try
        {
            string text = File.ReadAllText(Path.Combine(folder, OwnerFileName)).Trim();
            return text.Length is > 0 and <= 300 ? text : "another process";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "another process";
        }
    }
}
