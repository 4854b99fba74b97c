using MixFit.Training;

namespace MixFit.Callbacks;

/// <summary>
/// Stops training cleanly at the next batch end once <paramref name="token"/> is cancelled (e.g. by Ctrl+C): the loop
/// finishes its step, and the stop reason is <see cref="StopReason.Interrupted"/>, which trackers record as a killed run.
/// </summary>
/// <param name="token">Cancelled to stop.</param>
public sealed class CancellationCallback(CancellationToken token) : Callback
{
    /// <summary>Whether training was stopped by the token.</summary>
    public bool Cancelled { get; private set; }

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Check();

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, IReadOnlyDictionary<string, double> logs) => Check();

    private void Check()
    {
        if (token.IsCancellationRequested && !Cancelled)
        {
            Cancelled = true;
            Context.RequestStop(StopReason.Interrupted);
        }
    }
}
