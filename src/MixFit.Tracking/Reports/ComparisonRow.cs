namespace MixFit.Tracking.Reports;

/// <summary>One run's line in a comparison: the article's side-by-side figures.</summary>
public sealed record ComparisonRow(
    string RunId, string Name, string Policy, string Status, double? Epochs, double? TrainingSeconds, double? SecondsPerEpoch, double? MsPerStep,
    double? PeakMemoryMb, double? FinalLoss, double? Accuracy, double? ValAccuracy, double? SkippedSteps, double? SpeedUp);
