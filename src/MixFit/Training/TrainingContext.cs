namespace MixFit.Training;

/// <summary>
/// What callbacks see of a running fit, evaluation or prediction, and the two things they may change: stopping
/// (<see cref="RequestStop"/>, <see cref="StopTraining"/>) and, at train begin, the epoch to resume from (<see cref="InitialEpoch"/>).
/// </summary>
public sealed class TrainingContext
{
    internal TrainingContext(Trainer trainer) => Trainer = trainer;

    /// <summary>The context of a fit over <paramref name="train"/> (steps per epoch bounded by <see cref="FitOptions.StepsPerEpoch"/>).</summary>
    internal static TrainingContext ForFit(Trainer trainer, FitOptions options, MixFit.Data.IBatchSource train, IReadOnlyList<string> metricNames) => new(trainer)
    {
        Epochs = options.Epochs,
        InitialEpoch = options.InitialEpoch,
        InitialStep = options.InitialStep,
        StepsPerEpoch = options.StepsPerEpoch is { } limit ? Math.Min(limit, train.BatchesPerEpoch ?? limit) : train.BatchesPerEpoch,
        Verbose = options.Verbose,
        MetricNames = metricNames,
        Options = options,
        TrainData = train,
    };

    /// <summary>The trainer (model, optimizer, precision strategy).</summary>
    public Trainer Trainer { get; }

    /// <summary>Total epochs requested.</summary>
    public int Epochs { get; internal set; }

    /// <summary>The epoch training starts at (0-based). A callback may move it forward in <c>OnTrainBegin</c> to resume.</summary>
    public int InitialEpoch { get; set; }

    /// <summary>Steps of <see cref="InitialEpoch"/> already trained; a callback may set it with <see cref="InitialEpoch"/> in <c>OnTrainBegin</c> to resume inside an epoch.</summary>
    public int InitialStep { get; set; }

    /// <summary>Steps of the current epoch completed so far (counting those passed over when resuming inside it).</summary>
    public int StepInEpoch { get; internal set; }

    /// <summary>
    /// Where an interrupted fit stopped inside an epoch (<see cref="Training.StopReason.Interrupted"/> before the epoch's
    /// end, whose validation and epoch-end hooks then do not run), or null: the epoch and the steps of it completed.
    /// </summary>
    public (int Epoch, int Step)? InterruptedAt { get; internal set; }

    /// <summary>The current epoch (0-based).</summary>
    public int Epoch { get; internal set; }

    /// <summary>Training batches per epoch, or null when the source does not know.</summary>
    public int? StepsPerEpoch { get; internal set; }

    /// <summary>Batches of the evaluation or prediction under way, or null when unknown.</summary>
    public int? TestSteps { get; internal set; }

    /// <summary>0 silent, 1 progress bar, 2 one line per epoch.</summary>
    public int Verbose { get; internal set; }

    /// <summary>
    /// Keras' <c>stop_training</c>: true once a stop was requested. Setting true is <see cref="RequestStop"/> with
    /// <see cref="Training.StopReason.Requested"/>; setting false withdraws any request.
    /// </summary>
    public bool StopTraining
    {
        get => StopReason != StopReason.None;
        set
        {
            if (!value)
            {
                StopReason = StopReason.None;
            }
            else
            {
                RequestStop(StopReason.Requested);
            }
        }
    }

    /// <summary>Why the fit is stopping, or <see cref="Training.StopReason.None"/>.</summary>
    public StopReason StopReason { get; private set; }

    /// <summary>
    /// Ends training after the current batch (or epoch, when called at epoch end). The first reason given is kept, except
    /// that an interruption overrides a plain request.
    /// </summary>
    public void RequestStop(StopReason reason)
    {
        if (reason == StopReason.None)
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, "Give a reason to stop (Requested or Interrupted); set StopTraining = false to withdraw a request.");
        }

        if (StopReason == StopReason.None || reason == StopReason.Interrupted)
        {
            StopReason = reason;
        }
    }

    /// <summary>The options of the running fit, or null during a standalone evaluation or prediction.</summary>
    public FitOptions? Options { get; internal set; }

    /// <summary>The training data of the running fit, or null.</summary>
    public MixFit.Data.IBatchSource? TrainData { get; internal set; }

    /// <summary>The names shown in the progress bar, in order: <c>loss</c>, then the compiled metrics.</summary>
    public IReadOnlyList<string> MetricNames { get; internal set; } = Array.Empty<string>();
}
