using MixFit.Precision;

namespace MixFit.Checkpoints;

/// <summary>What a checkpoint said about the run it came from.</summary>
/// <param name="Epoch">The last completed epoch (0-based), or, with <paramref name="Step"/>, the epoch it stopped inside.</param>
/// <param name="Policy">The policy it was trained under (its weights are float32 regardless).</param>
/// <param name="LossScaler">The loss scaler's state, or null when it was saved without scaling.</param>
/// <param name="Step">Steps of <paramref name="Epoch"/> completed when an interrupted fit stopped inside it, or null for a complete epoch.</param>
public sealed record CheckpointInfo(int Epoch, string Policy, LossScalerState? LossScaler, int? Step = null)
{
    /// <summary>Where training continues: the next epoch from its start, or the interrupted epoch at its next step.</summary>
    public (int Epoch, int Step) ResumeAt => Step is { } step ? (Epoch, step) : (Epoch + 1, 0);
}
