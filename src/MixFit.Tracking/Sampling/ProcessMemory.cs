using System.Globalization;

namespace MixFit.Tracking.Sampling;

/// <summary>The process's peak resident memory (Linux <c>VmHWM</c>), and resetting it between runs.</summary>
public static class ProcessMemory
{
    /// <summary>Peak resident set size in MB since start or the last <see cref="ResetPeak"/>; null where /proc is unavailable.</summary>
    public static double? PeakResidentMegabytes()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? null : double.Parse(line.Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Linux: writing 5 to clear_refs resets VmHWM, so a run's peak is its own even when a process trains several runs. Best effort.</summary>
    public static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
