namespace MixFit.Callbacks;

/// <summary>A callback built from delegates, for one-off hooks (Keras' <c>LambdaCallback</c>). Unset delegates do nothing.</summary>
public sealed class LambdaCallback : Callback
{
    /// <summary>Called at train begin.</summary>
    public Action<IReadOnlyDictionary<string, double>>? TrainBegin { get; init; }

    /// <summary>Called at train end.</summary>
    public Action<IReadOnlyDictionary<string, double>>? TrainEnd { get; init; }

    /// <summary>Called at every epoch begin.</summary>
    public Action<int, IReadOnlyDictionary<string, double>>? EpochBegin { get; init; }

    /// <summary>Called at every epoch end.</summary>
    public Action<int, IReadOnlyDictionary<string, double>>? EpochEnd { get; init; }

    /// <summary>Called before every training batch.</summary>
    public Action<int, IReadOnlyDictionary<string, double>>? BatchBegin { get; init; }

    /// <summary>Called after every training batch.</summary>
    public Action<int, IReadOnlyDictionary<string, double>>? BatchEnd { get; init; }

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs) => TrainBegin?.Invoke(logs);

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) => TrainEnd?.Invoke(logs);

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, IReadOnlyDictionary<string, double> logs) => EpochBegin?.Invoke(epoch, logs);

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => EpochEnd?.Invoke(epoch, logs);

    /// <inheritdoc />
    public override void OnTrainBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) => BatchBegin?.Invoke(batch, logs);

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => BatchEnd?.Invoke(batch, logs);
}
