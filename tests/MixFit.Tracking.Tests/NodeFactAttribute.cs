namespace MixFit.Tracking.Tests;

/// <summary>A fact that runs JavaScript with node: skipped with the reason where node is not on PATH (never a silent pass).</summary>
public sealed class NodeFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when node is missing.</summary>
    public NodeFactAttribute()
    {
        if (Node is null)
        {
            Skip = "needs node on PATH (Debian's nodejs package) to run the report's script";
        }
    }

    /// <summary>The node executable, or null.</summary>
    public static string? Node { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, "node"))
        .FirstOrDefault(File.Exists);
}
