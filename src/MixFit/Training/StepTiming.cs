using MixFit.Precision;

namespace MixFit.Training;

/// <summary>A policy's measured training step (forward, loss, backward, optimizer step through the precision strategy).</summary>
/// <param name="Policy">The policy measured.</param>
/// <param name="MsPerStep">The median of the timed steps, in milliseconds (the warm-up step when <paramref name="TimedSteps"/> is 0).</param>
/// <param name="TimedSteps">Steps timed after the warm-up (0: judged from the warm-up step alone, 1: from one timed step).</param>
/// <param name="WarmupMs">The first (warm-up) step, in milliseconds.</param>
public sealed record StepTiming(DTypePolicy Policy, double MsPerStep, int TimedSteps, double WarmupMs)
{
    /// <summary>Whether the figure rests on a single step because that step was already far slower than the baseline.</summary>
    public bool JudgedEarly => TimedSteps <= 1;
}
