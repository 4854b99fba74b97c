namespace MixFit.Callbacks;

/// <summary>Stops training as soon as a batch's loss is NaN or infinite, printing Keras' message.</summary>
public sealed class TerminateOnNaN : Callback
{
    private readonly TextWriter? output;

    /// <summary>Creates the callback; messages go to <paramref name="output"/> (default: the console).</summary>
    public TerminateOnNaN(TextWriter? output = null) => this.output = output;

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (logs.TryGetValue("loss", out double loss) && !double.IsFinite(loss))
        {
            Output.WriteLine($"Batch {batch}: Invalid loss, terminating training");
            Context.StopTraining = true;
        }
    }

    private TextWriter Output => output ?? Console.Out;
}
