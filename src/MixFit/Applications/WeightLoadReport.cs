namespace MixFit.Applications;

/// <summary>What a weight load did: loaded keys, and every key that did not fit.</summary>
/// <param name="Loaded">Keys copied into the module.</param>
/// <param name="Missing">Module keys the file lacks.</param>
/// <param name="Unexpected">File keys the module lacks.</param>
/// <param name="ShapeMismatches">Keys present on both sides with different shapes, as <c>key: file [..] vs module [..]</c>.</param>
/// <param name="Skipped">File keys left out on purpose (the classifier).</param>
public sealed record WeightLoadReport(
    IReadOnlyList<string> Loaded, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<string> ShapeMismatches, IReadOnlyList<string> Skipped)
{
    /// <summary>Whether every module key was loaded from a tensor of the right shape.</summary>
    public bool IsComplete => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatches.Count == 0;

    /// <summary>One readable paragraph listing every problem.</summary>
    public override string ToString()
    {
        var lines = new List<string> { $"{Loaded.Count} loaded, {Missing.Count} missing, {Unexpected.Count} unexpected, {ShapeMismatches.Count} shape mismatches, {Skipped.Count} skipped" };
        lines.AddRange(Missing.Select(k => $"  missing: {k}"));
        lines.AddRange(Unexpected.Select(k => $"  unexpected: {k}"));
        lines.AddRange(ShapeMismatches.Select(k => $"  shape mismatch: {k}"));
        return string.Join(Environment.NewLine, lines);
    }
}
