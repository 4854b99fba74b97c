using MixFit.Training;

namespace MixFit.Experiments;

/// <summary>The outcome of a training job.</summary>
/// <param name="RunId">The tracked run.</param>
/// <param name="History">Per-epoch logs.</param>
/// <param name="Cancelled">Whether the user interrupted it.</param>
/// <param name="Test">Test-set loss and accuracy, when the data has a test split.</param>
public sealed record TrainResult(string RunId, History History, bool Cancelled, IReadOnlyDictionary<string, double>? Test);
