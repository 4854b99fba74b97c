namespace MixFit.Precision;

/// <summary>
/// Everything a <see cref="PrecisionStrategy"/> must carry across a checkpoint besides the weights: the policy it ran
/// under and its loss scalers' state. JSON round-trips.
/// </summary>
/// <param name="Policy">The policy name.</param>
/// <param name="LossScaler">The strategy's loss scaler's state, or null when the run had no loss scaling.</param>
public sealed record PrecisionState(string Policy, LossScalerState? LossScaler)
{
    /// <summary>
    /// Training iterations completed (Keras' <c>optimizer.iterations</c>), whether or not the loss was scaled; null in
    /// state saved before it was recorded (then the loss scaler's own count stands in).
    /// </summary>
    public long? Iterations { get; init; }

    /// <summary>The state of the loss scalers given to single optimizers (<see cref="PrecisionStrategy.AddLossScaler"/>), by name; null when there are none.</summary>
    public IReadOnlyDictionary<string, LossScalerState>? OptimizerScalers { get; init; }
}
