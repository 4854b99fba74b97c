using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Callbacks;

/// <summary>
/// Stops training when a monitored quantity stops improving (Keras' defaults: monitor <c>val_loss</c>, min delta 0,
/// patience 0, no baseline, weights not restored). Prints <c>Epoch N: early stopping</c> when verbose.
/// </summary>
public sealed class EarlyStopping : Callback
{
    private readonly Monitor monitor;
    private readonly TextWriter? output;
    private Dictionary<string, Tensor>? bestWeights;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">Log entry to watch.</param>
    /// <param name="minDelta">Smallest change that counts as an improvement.</param>
    /// <param name="patience">Epochs without improvement before stopping.</param>
    /// <param name="mode">Direction; auto maximises names containing <c>acc</c>.</param>
    /// <param name="baseline">A value the quantity must beat; training stops if it does not within the patience.</param>
    /// <param name="restoreBestWeights">Restore the weights of the best epoch when stopping (or at the end).</param>
    /// <param name="verbose">1 prints messages.</param>
    /// <param name="output">Where messages go (default: the console).</param>
    public EarlyStopping(
        string monitor = "val_loss", double minDelta = 0, int patience = 0, MonitorMode mode = MonitorMode.Auto, double? baseline = null,
        bool restoreBestWeights = false, int verbose = 0, TextWriter? output = null)
    {
        this.monitor = new Monitor(monitor, mode, minDelta);
        Patience = patience >= 0 ? patience : throw new ArgumentOutOfRangeException(nameof(patience), patience, "Patience must be >= 0.");
        Baseline = baseline;
        RestoreBestWeights = restoreBestWeights;
        Verbose = verbose;
        this.output = output;
    }

    /// <summary>Epochs without improvement tolerated.</summary>
    public int Patience { get; }

    /// <summary>The value to beat, or null.</summary>
    public double? Baseline { get; }

    /// <summary>Whether the best epoch's weights are restored.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>1 prints messages.</summary>
    public int Verbose { get; }

    /// <summary>The epoch (0-based) at which training was stopped, or null.</summary>
    public int? StoppedEpoch { get; private set; }

    /// <summary>The best value seen.</summary>
    public double Best { get; private set; }

    /// <summary>The epoch of the best value (0-based).</summary>
    public int BestEpoch { get; private set; }

    private int wait;

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs)
    {
        wait = 0;
        StoppedEpoch = null;
        Best = Baseline ?? monitor.Worst;
        BestEpoch = 0;
        DisposeBest();
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (!logs.TryGetValue(monitor.Name, out double current))
        {
            Output.WriteLine($"Early stopping conditioned on metric `{monitor.Name}` which is not available. Available metrics are: {string.Join(",", logs.Keys)}");
            return;
        }

        if (RestoreBestWeights && bestWeights is null)
        {
            bestWeights = Context.Trainer.GetWeights();
        }

        wait++;
        if (monitor.IsImprovement(current, Best))
        {
            Best = current;
            BestEpoch = epoch;
            if (RestoreBestWeights)
            {
                DisposeBest();
                bestWeights = Context.Trainer.GetWeights();
            }

            wait = 0;
            return;
        }

        if (wait >= Patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            Context.StopTraining = true;
        }
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (StoppedEpoch is { } stopped && Verbose > 0)
        {
            Output.WriteLine($"Epoch {stopped + 1}: early stopping");
        }

        if (RestoreBestWeights && bestWeights is not null && (StoppedEpoch is not null || BestEpoch != Context.Epoch))
        {
            if (Verbose > 0)
            {
                Output.WriteLine($"Restoring model weights from the end of the best epoch: {BestEpoch + 1}.");
            }

            Context.Trainer.SetWeights(bestWeights);
        }

        DisposeBest();
    }

    private void DisposeBest()
    {
        foreach (var t in bestWeights?.Values ?? Enumerable.Empty<Tensor>())
        {
            t.Dispose();
        }

        bestWeights = null;
    }

    private TextWriter Output => output ?? Console.Out;
}
