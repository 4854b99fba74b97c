using MixFit.Training;

namespace MixFit.Callbacks;

/// <summary>
/// Base of training callbacks (Keras semantics): every hook is a no-op to override. Hooks run in loop order:
/// train begin, then per epoch: epoch begin, train batch begin/end, (validation: test begin, test batch begin/end,
/// test end), epoch end; then train end. <c>Evaluate</c> and <c>Predict</c> call the test and predict hooks.
/// </summary>
/// <remarks>
/// A callback stops training by setting <see cref="TrainingContext.StopTraining"/> on <see cref="Context"/>, never by
/// throwing. An exception thrown by a hook ends the fit and is re-thrown as a <see cref="CallbackException"/> that
/// names the callback and the hook. Logs are the values of the moment: metrics, <c>val_</c> metrics, and extras
/// such as <c>lr</c>, <c>loss_scale</c>, <c>skipped_steps</c>, <c>ms_per_step</c>, <c>epoch_seconds</c>.
/// </remarks>
public abstract class Callback
{
    /// <summary>The <see cref="Order"/> of <see cref="BackupAndRestore"/>: it restores the position before anyone reads it.</summary>
    public const int RestoreOrder = -30;

    /// <summary>The <see cref="Order"/> of <see cref="ProgbarLogger"/>: its epoch line precedes other callbacks' messages (Keras).</summary>
    public const int ConsoleOrder = -20;

    /// <summary>The <see cref="Order"/> of a run tracker: its run exists before the other callbacks' train begin.</summary>
    public const int TrackingOrder = -10;

    /// <summary>The <see cref="Order"/> of <see cref="HistoryCallback"/>: it records what the others left in the logs.</summary>
    public const int HistoryOrder = 100;

    /// <summary>
    /// Where this callback runs among the others (fastai's <c>order</c>): ascending, and in list order among equals.
    /// Default 0. The built-ins that depend on one another say so here instead of on their place in the list:
    /// <see cref="RestoreOrder"/>, <see cref="ConsoleOrder"/>, <see cref="TrackingOrder"/>, <see cref="HistoryOrder"/>.
    /// </summary>
    public virtual int Order => 0;

    /// <summary>The running fit, evaluation or prediction; set before the first hook.</summary>
    public TrainingContext Context { get; internal set; } = null!;

    /// <summary>Start of <c>Fit</c>.</summary>
    public virtual void OnTrainBegin(IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>End of <c>Fit</c> (not called when the fit failed with an exception).</summary>
    public virtual void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>Start of epoch <paramref name="epoch"/> (0-based).</summary>
    public virtual void OnEpochBegin(int epoch, IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>End of epoch <paramref name="epoch"/>, with the epoch's metrics and validation metrics.</summary>
    public virtual void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>Before training batch <paramref name="batch"/> (0-based within the epoch).</summary>
    public virtual void OnTrainBatchBegin(int batch, IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>After training batch <paramref name="batch"/>, with running metrics and per-step extras.</summary>
    public virtual void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>Start of an evaluation (also validation inside <c>Fit</c>).</summary>
    public virtual void OnTestBegin(IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>End of an evaluation, with its metrics.</summary>
    public virtual void OnTestEnd(IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>Before evaluation batch <paramref name="batch"/>.</summary>
    public virtual void OnTestBatchBegin(int batch, IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>After evaluation batch <paramref name="batch"/>.</summary>
    public virtual void OnTestBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>Start of <c>Predict</c>.</summary>
    public virtual void OnPredictBegin(IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>End of <c>Predict</c>.</summary>
    public virtual void OnPredictEnd(IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>Before prediction batch <paramref name="batch"/>.</summary>
    public virtual void OnPredictBatchBegin(int batch, IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>After prediction batch <paramref name="batch"/>.</summary>
    public virtual void OnPredictBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
    }
}
