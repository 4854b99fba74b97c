namespace MixFit.Training;

/// <summary>
/// What callbacks see of a running fit, evaluation or prediction, and the two things they may change: stopping
/// (<see cref="StopTraining"/>) and, at train begin, the epoch to resume from (<see cref="InitialEpoch"/>).
/// </summary>
public sealed class TrainingContext
{
    internal TrainingContext(Trainer trainer) => Trainer = trainer;

    /// <summary>The trainer (model, optimizer, precision strategy).</summary>
    public Trainer Trainer { get; }

    /// <summary>Total epochs requested.</summary>
    public int Epochs { get; internal set; }

    /// <summary>The epoch training starts at (0-based). A callback may move it forward in <c>OnTrainBegin</c> to resume.</summary>
    public int InitialEpoch { get; set; }

    /// <summary>The current epoch (0-based).</summary>
    public int Epoch { get; internal set; }

    /// <summary>Training batches per epoch, or null when the source does not know.</summary>
    public int? StepsPerEpoch { get; internal set; }

    /// <summary>Batches of the evaluation or prediction under way, or null when unknown.</summary>
    public int? TestSteps { get; internal set; }

    /// <summary>0 silent, 1 progress bar, 2 one line per epoch.</summary>
    public int Verbose { get; internal set; }

    /// <summary>Set to true to end training after the current batch (or epoch, when set at epoch end).</summary>
    public bool StopTraining { get; set; }

    /// <summary>The options of the running fit, or null during a standalone evaluation or prediction.</summary>
    public FitOptions? Options { get; internal set; }

    /// <summary>The training data of the running fit, or null.</summary>
    public MixFit.Data.IBatchSource? TrainData { get; internal set; }

    /// <summary>The names shown in the progress bar, in order: <c>loss</c>, then the compiled metrics.</summary>
    public IReadOnlyList<string> MetricNames { get; internal set; } = Array.Empty<string>();
}
