using MixFit.Tracking.Store;

namespace MixFit.Callbacks;

/// <summary>
/// Stops training cleanly at the next batch end once <paramref name="token"/> is cancelled (e.g. by Ctrl+C): the loop
/// finishes its step, epoch-end callbacks do not run for the partial epoch, and a tracked run ends as killed.
/// </summary>
/// <param name="token">Cancelled to stop.</param>
/// <param name="tracking">The run to mark killed, if any.</param>
public sealed class CancellationCallback(CancellationToken token, TrackingCallback? tracking = null) : Callback
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
            Context.StopTraining = true;
            if (tracking is not null)
            {
                tracking.CompletionStatus = RunStatus.Killed;
            }
        }
    }
}
