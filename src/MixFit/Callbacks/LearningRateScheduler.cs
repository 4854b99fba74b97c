namespace MixFit.Callbacks;

/// <summary>Sets the learning rate at every epoch begin from <c>schedule(epoch, currentLr)</c> (Keras' callback).</summary>
public sealed class LearningRateScheduler : Callback
{
    private readonly Func<int, double, double> schedule;
    private readonly TextWriter? output;

    /// <summary>Creates the callback; <paramref name="schedule"/> maps (0-based epoch, current rate) to the new rate.</summary>
    public LearningRateScheduler(Func<int, double, double> schedule, int verbose = 0, TextWriter? output = null)
    {
        this.schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        Verbose = verbose;
        this.output = output;
    }

    /// <summary>1 prints messages.</summary>
    public int Verbose { get; }

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        var optimizer = Context.Trainer.Optimizer!;
        double rate = schedule(epoch, optimizer.LearningRate);
        if (!double.IsFinite(rate) || rate <= 0)
        {
            throw new InvalidOperationException($"The schedule returned learning rate {rate} for epoch {epoch}; it must be a positive finite number.");
        }

        optimizer.LearningRate = rate;
        if (Verbose > 0)
        {
            Output.WriteLine($"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {PythonFloat.Repr(rate)}.");
        }
    }

    private TextWriter Output => output ?? Console.Out;
}
