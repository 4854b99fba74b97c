using System.Diagnostics;

namespace MixFit.Tests.Support;

/// <summary>
/// A fact that needs real mounts (a tiny tmpfs for a full disk, a read-only bind mount): run where this process may
/// mount (root, as here and in CI), reported as skipped with the reason elsewhere.
/// </summary>
public sealed class MountFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(Probe);

    /// <summary>Sets <see cref="FactAttribute.Skip"/> when mounting is not allowed here.</summary>
    public MountFactAttribute()
    {
        if (Unavailable.Value is { } reason)
        {
            Skip = reason;
        }
    }

    private static string? Probe()
    {
        string dir = Directory.CreateTempSubdirectory("mixfit-mount-probe-").FullName;
        try
        {
            if (!Mounts.Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir))
            {
                return "needs permission to mount (tmpfs, read-only bind): run as root";
            }

            Mounts.Run("umount", dir);
            return null;
        }
        finally
        {
            Directory.Delete(dir);
        }
    }
}

/// <summary>mount/umount for tests that need a full or read-only file system.</summary>
public static class Mounts
{
    /// <summary>Runs a mount command; true when it succeeded.</summary>
    public static bool Run(string command, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in args)
            {
                info.ArgumentList.Add(arg);
            }

            using var process = Process.Start(info)!;
            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit(30_000);
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
