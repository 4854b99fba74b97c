namespace MixFit.Tracking.Reports;

/// <summary>One run's line in a comparison: the article's side-by-side figures.</summary>
public sealed record ComparisonRow(
    string RunId, string Name, string Policy, string Status, double? FinalLoss, double? Accuracy, double? ValAccuracy,
    double? TrainingSeconds, double? MsPerStep, double? PeakMemoryMb, double? SkippedSteps, double? SpeedUp);
