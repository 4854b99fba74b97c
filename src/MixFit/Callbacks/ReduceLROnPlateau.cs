namespace MixFit.Callbacks;

/// <summary>
/// Multiplies the learning rate by <c>factor</c> when a monitored quantity stops improving (Keras' defaults: monitor
/// <c>val_loss</c>, factor 0.1, patience 10, min delta 1e-4, cooldown 0, min lr 0). Prints
/// <c>Epoch 9: ReduceLROnPlateau reducing learning rate to 0.0001.</c> when verbose.
/// </summary>
public sealed class ReduceLROnPlateau : Callback
{
    private readonly Monitor monitor;
    private readonly TextWriter? output;
    private double best;
    private int wait;
    private int cooldownCounter;

    /// <summary>Creates the callback.</summary>
    /// <exception cref="ArgumentOutOfRangeException">factor is not in (0, 1).</exception>
    public ReduceLROnPlateau(
        string monitor = "val_loss", double factor = 0.1, int patience = 10, MonitorMode mode = MonitorMode.Auto, double minDelta = 1e-4,
        int cooldown = 0, double minLr = 0, int verbose = 0, TextWriter? output = null)
    {
        if (!(factor > 0 && factor < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "ReduceLROnPlateau does not support a factor >= 1 (or <= 0).");
        }

        this.monitor = new Monitor(monitor, mode, minDelta);
        Factor = factor;
        Patience = patience;
        Cooldown = cooldown;
        MinLr = minLr;
        Verbose = verbose;
        this.output = output;
    }

    /// <summary>Multiplier applied to the learning rate.</summary>
    public double Factor { get; }

    /// <summary>Epochs without improvement before reducing.</summary>
    public int Patience { get; }

    /// <summary>Epochs to wait after a reduction before counting again.</summary>
    public int Cooldown { get; }

    /// <summary>Lower bound of the learning rate.</summary>
    public double MinLr { get; }

    /// <summary>1 prints messages.</summary>
    public int Verbose { get; }

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs)
    {
        best = monitor.Worst;
        wait = 0;
        cooldownCounter = 0;
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (!logs.TryGetValue(monitor.Name, out double current))
        {
            Output.WriteLine($"Learning rate reduction is conditioned on metric `{monitor.Name}` which is not available. Available metrics are: {string.Join(",", logs.Keys)}.");
            return;
        }

        if (cooldownCounter > 0)
        {
            cooldownCounter--;
            wait = 0;
        }

        if (monitor.IsImprovement(current, best))
        {
            best = current;
            wait = 0;
        }
        else if (cooldownCounter <= 0 && ++wait >= Patience)
        {
            var optimizer = Context.Trainer.Optimizer!;
            double old = optimizer.LearningRate;
            if (old > MinLr)
            {
                double reduced = Math.Max(old * Factor, MinLr);
                optimizer.LearningRate = reduced;
                if (Verbose > 0)
                {
                    Output.WriteLine($"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {PythonFloat.Repr(reduced)}.");
                }

                cooldownCounter = Cooldown;
                wait = 0;
            }
        }
    }

    private TextWriter Output => output ?? Console.Out;
}
