namespace MixFit.Tracking.Store;

/// <summary>The outcome of importing a run folder.</summary>
/// <param name="RunId">The run's id.</param>
/// <param name="Records">Metric records indexed.</param>
/// <param name="Problems">Corrupt lines skipped, each as <c>file:line: reason</c>.</param>
public sealed record ImportReport(string RunId, int Records, IReadOnlyList<string> Problems);
