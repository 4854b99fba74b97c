namespace MixFit.IO;

/// <summary>A folder MixFit writes as a unit is already held by another writer (<see cref="FolderLock"/>).</summary>
public sealed class FolderLockedException : IOException
{
    /// <summary>Creates the error for <paramref name="folder"/>, held by <paramref name="holder"/>.</summary>
    public FolderLockedException(string folder, string holder, Exception? inner = null)
        : base($"{folder} is in use by {holder}; wait for it to finish (or stop it), or give another folder.", inner)
    {
        Folder = folder;
        Holder = holder;
    }

    /// <summary>The folder (full path).</summary>
    public string Folder { get; }

    /// <summary>Who holds it: the process and its command line, or "another process" when that cannot be seen.</summary>
    public string Holder { get; }
}
