namespace MixFit.Precision;

/// <summary>
/// The mutable state of a <see cref="LossScaler"/>, saved with every checkpoint. Forgetting it is a classic resume
/// bug: the scale restarts at its initial value and the resumed run overflows (or underflows) for many steps.
/// </summary>
/// <param name="Mode">The mode the state was saved under.</param>
/// <param name="Scale">The current scale.</param>
/// <param name="GrowthTracker">Consecutive finite steps since the last growth or backoff.</param>
/// <param name="SkippedSteps">Iterations skipped for inf/NaN gradients so far.</param>
/// <param name="Iterations">Iterations (calls to <see cref="LossScaler.Update"/>) so far.</param>
public sealed record LossScalerState(LossScaleMode Mode, double Scale, int GrowthTracker, long SkippedSteps, long Iterations);
