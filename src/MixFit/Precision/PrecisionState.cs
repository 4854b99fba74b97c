namespace MixFit.Precision;

/// <summary>
/// Everything a <see cref="PrecisionStrategy"/> must carry across a checkpoint besides the weights: the policy it ran
/// under and its loss scaler's state. JSON round-trips.
/// </summary>
/// <param name="Policy">The policy name.</param>
/// <param name="LossScaler">The loss scaler's state, or null when the run had no loss scaling.</param>
public sealed record PrecisionState(string Policy, LossScalerState? LossScaler);
