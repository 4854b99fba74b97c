namespace MixFit.Tracking.Reports;

/// <summary>One run's line in a comparison: the article's side-by-side figures.</summary>
/// <remarks><see cref="MsPerStep"/> is the median over the run's steps (the first excluded); <see cref="ProbeMsPerStep"/>
/// is the median of the few steps <c>compare</c> measured before training (summary key <c>probe_ms_per_step</c>).
/// <see cref="PeakGpuMemoryMb"/> is the most device memory the process held on a GPU while training (summary key
/// <c>peak_gpu_memory_mb</c>, sampled through NVML; null on machines without an NVIDIA GPU).</remarks>
public sealed record ComparisonRow(
    string RunId, string Name, string Policy, string Status, double? Epochs, double? TrainingSeconds, double? SecondsPerEpoch, double? MsPerStep,
    double? PeakMemoryMb, double? FinalLoss, double? Accuracy, double? ValAccuracy, double? SkippedSteps, double? SpeedUp, double? ProbeMsPerStep = null,
    double? PeakGpuMemoryMb = null);
