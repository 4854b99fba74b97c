using MixFit.Training;

namespace MixFit.Callbacks;

/// <summary>Records every epoch's logs into a <see cref="Training.History"/>; <c>Fit</c> adds one and returns its history.</summary>
public sealed class HistoryCallback : Callback
{
    /// <inheritdoc />
    public override int Order => HistoryOrder;

    /// <summary>The recorded history.</summary>
    public History History { get; private set; } = new();

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs) => History = new History();

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => History.Record(epoch, logs);
}
