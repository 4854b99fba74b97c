namespace MixFit.Training;

/// <summary>How <see cref="StepProbe"/> spends its time.</summary>
public sealed record StepProbeOptions
{
    /// <summary>Steps timed at most after the warm-up. Default 5.</summary>
    public int MaxTimedSteps { get; init; } = 5;

    /// <summary>Stop timing a policy once its timed steps took this long (at least one step is timed). Default 1.5 s.</summary>
    public double SecondsPerPolicy { get; init; } = 1.5;

    /// <summary>
    /// A policy whose first timed step is more than this many times the baseline's step is judged from that one step.
    /// Default 3 (what compare allows by default).
    /// </summary>
    public double FarSlower { get; init; } = 3;

    /// <summary>
    /// A policy whose warm-up step alone is more than this many times the baseline's step (and over a second) is
    /// judged from the warm-up step, without timing another. Default 10.
    /// </summary>
    public double FarSlowerWarmup { get; init; } = 10;

    /// <summary>Checks the values and returns this instance.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count below 1 or a non-positive time or ratio.</exception>
    public StepProbeOptions Validated() =>
        MaxTimedSteps >= 1 && SecondsPerPolicy > 0 && FarSlower > 1 && FarSlowerWarmup > 1
            ? this
            : throw new ArgumentOutOfRangeException(nameof(StepProbeOptions), this, "MaxTimedSteps must be at least 1, SecondsPerPolicy positive, and the ratios above 1.");
}
