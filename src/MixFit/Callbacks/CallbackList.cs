using MixFit.Training;

namespace MixFit.Callbacks;

/// <summary>
/// Calls a list of callbacks for every hook in ascending <see cref="Callback.Order"/> (list order among equals), and
/// wraps a failure in a <see cref="CallbackException"/> that names the callback and the hook.
/// </summary>
public sealed class CallbackList
{
    private readonly List<Callback> callbacks;

    /// <summary>Creates the list and hands every callback the context.</summary>
    public CallbackList(IEnumerable<Callback> callbacks, TrainingContext context)
    {
        this.callbacks = callbacks.OrderBy(c => c.Order).ToList();    // stable: list order among equal orders
        foreach (var callback in this.callbacks)
        {
            callback.Context = context;
        }
    }

    /// <summary>
    /// The callbacks of one loop: the progress logger when <paramref name="verbose"/> &gt; 0, <paramref name="user"/>'s
    /// and the history (if any), run by their <see cref="Callback.Order"/> (the logger before the others' default 0,
    /// the history last).
    /// </summary>
    public static CallbackList ForLoop(TrainingContext context, int verbose, TextWriter? output, IEnumerable<Callback> user, HistoryCallback? history)
    {
        ArgumentNullException.ThrowIfNull(user);
        var all = new List<Callback>();
        if (verbose > 0)
        {
            all.Add(new ProgbarLogger(output));
        }

        all.AddRange(user);
        if (history is not null)
        {
            all.Add(history);
        }

        return new CallbackList(all, context);
    }

    /// <summary>The callbacks, in call order.</summary>
    public IReadOnlyList<Callback> Callbacks => callbacks;

    /// <summary>Calls <see cref="Callback.OnTrainBegin"/> on each callback.</summary>
    public void TrainBegin(IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnTrainBegin), c => c.OnTrainBegin(logs));

    /// <summary>Calls <see cref="Callback.OnTrainEnd"/> on each callback.</summary>
    public void TrainEnd(IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnTrainEnd), c => c.OnTrainEnd(logs));

    /// <summary>Calls <see cref="Callback.OnEpochBegin"/> on each callback.</summary>
    public void EpochBegin(int epoch, IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnEpochBegin), c => c.OnEpochBegin(epoch, logs));

    /// <summary>Calls <see cref="Callback.OnEpochEnd"/> on each callback.</summary>
    public void EpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnEpochEnd), c => c.OnEpochEnd(epoch, logs));

    /// <summary>Calls <see cref="Callback.OnTrainBatchBegin"/> on each callback.</summary>
    public void TrainBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnTrainBatchBegin), c => c.OnTrainBatchBegin(batch, logs));

    /// <summary>Calls <see cref="Callback.OnTrainBatchEnd"/> on each callback.</summary>
    public void TrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnTrainBatchEnd), c => c.OnTrainBatchEnd(batch, logs));

    /// <summary>Calls <see cref="Callback.OnTestBegin"/> on each callback.</summary>
    public void TestBegin(IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnTestBegin), c => c.OnTestBegin(logs));

    /// <summary>Calls <see cref="Callback.OnTestEnd"/> on each callback.</summary>
    public void TestEnd(IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnTestEnd), c => c.OnTestEnd(logs));

    /// <summary>Calls <see cref="Callback.OnTestBatchBegin"/> on each callback.</summary>
    public void TestBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnTestBatchBegin), c => c.OnTestBatchBegin(batch, logs));

    /// <summary>Calls <see cref="Callback.OnTestBatchEnd"/> on each callback.</summary>
    public void TestBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnTestBatchEnd), c => c.OnTestBatchEnd(batch, logs));

    /// <summary>Calls <see cref="Callback.OnPredictBegin"/> on each callback.</summary>
    public void PredictBegin(IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnPredictBegin), c => c.OnPredictBegin(logs));

    /// <summary>Calls <see cref="Callback.OnPredictEnd"/> on each callback.</summary>
    public void PredictEnd(IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnPredictEnd), c => c.OnPredictEnd(logs));

    /// <summary>Calls <see cref="Callback.OnPredictBatchBegin"/> on each callback.</summary>
    public void PredictBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnPredictBatchBegin), c => c.OnPredictBatchBegin(batch, logs));

    /// <summary>Calls <see cref="Callback.OnPredictBatchEnd"/> on each callback.</summary>
    public void PredictBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Each(nameof(Callback.OnPredictBatchEnd), c => c.OnPredictBatchEnd(batch, logs));

    private void Each(string hook, Action<Callback> call)
    {
        foreach (var callback in callbacks)
        {
            try
            {
                call(callback);
            }
            catch (Exception e) when (e is not CallbackException and not OutOfMemoryException)
            {
                throw new CallbackException(callback.GetType().Name, hook, e);
            }
        }
    }
}
