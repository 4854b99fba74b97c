namespace MixFit.Tracking.Reports;

/// <summary>One run's line in a comparison: the article's side-by-side figures.</summary>
/// <remarks><see cref="MsPerStep"/> is the median over the run's steps (the first excluded); <see cref="ProbeMsPerStep"/>
/// is the median of the few steps <c>compare</c> measured before training (summary key <c>probe_ms_per_step</c>).</remarks>
public sealed record ComparisonRow(
    string RunId, string Name, string Policy, string Status, double? Epochs, double? TrainingSeconds, double? SecondsPerEpoch, double? MsPerStep,
    double? PeakMemoryMb, double? FinalLoss, double? Accuracy, double? ValAccuracy, double? SkippedSteps, double? SpeedUp, double? ProbeMsPerStep = null);
