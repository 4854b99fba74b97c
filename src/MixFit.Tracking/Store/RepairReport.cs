namespace MixFit.Tracking.Store;

/// <summary>What <see cref="RunStore.Repair"/> did: the runs indexed from their folders, the metric records read, what it could not read, and where the old index was kept.</summary>
/// <param name="Runs">Run folders indexed.</param>
/// <param name="Records">Metric records read from their <c>metrics.jsonl</c> and <c>system.jsonl</c>.</param>
/// <param name="Problems">One line per folder not indexed or record skipped (file and line).</param>
/// <param name="KeptAs">Where the unreadable index was moved, or null when there was none.</param>
public sealed record RepairReport(int Runs, int Records, IReadOnlyList<string> Problems, string? KeptAs);
