namespace MixFit.Experiments;

/// <summary>The outcome of a comparison.</summary>
/// <param name="RunIds">The tracked runs, in policy order.</param>
/// <param name="Skipped">Policies not run, with the reason.</param>
/// <param name="Decisions">What the step probe measured and decided per policy (empty with <c>--force</c>).</param>
/// <param name="Table">The printed side-by-side table.</param>
/// <param name="Report">The HTML report's path.</param>
/// <param name="Charts">The PNG charts written.</param>
/// <param name="Cancelled">Whether the user interrupted it.</param>
public sealed record CompareResult(
    IReadOnlyList<string> RunIds, IReadOnlyDictionary<string, string> Skipped, IReadOnlyList<PolicyDecision> Decisions, string Table, string Report, IReadOnlyList<string> Charts, bool Cancelled);
