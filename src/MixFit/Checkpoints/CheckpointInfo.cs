using MixFit.Precision;

namespace MixFit.Checkpoints;

/// <summary>What a checkpoint said about the run it came from.</summary>
/// <param name="Epoch">The last completed epoch (0-based).</param>
/// <param name="Policy">The policy it was trained under (its weights are float32 regardless).</param>
/// <param name="LossScaler">The loss scaler's state, or null when it was saved without scaling.</param>
public sealed record CheckpointInfo(int Epoch, string Policy, LossScalerState? LossScaler);
