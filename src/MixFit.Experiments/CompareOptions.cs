using MixFit.Precision;
using MixFit.Training;

namespace MixFit.Experiments;

/// <summary>The article's experiment: one model, several policies, same seed and data (the CLI's <c>mixfit compare</c>).</summary>
public sealed record CompareOptions
{
    /// <summary>Policies to compare. Default: float32, mixed_bfloat16, mixed_float16.</summary>
    public IReadOnlyList<DTypePolicy> Policies { get; init; } = new[] { DTypePolicy.Float32, DTypePolicy.MixedBFloat16, DTypePolicy.MixedFloat16 };

    /// <summary>Train every policy without measuring first (no step probe, nothing skipped).</summary>
    public bool Force { get; init; }

    /// <summary>Train a policy when its measured step is at most this many times float32's. Default 3.</summary>
    public double MaxSlowdown { get; init; } = PrecisionAdvice.DefaultMaxSlowdown;

    /// <summary>The step probe's time box. Default <see cref="StepProbeOptions"/> with <see cref="MaxSlowdown"/> as its far-slower ratio.</summary>
    public StepProbeOptions? Probe { get; init; }

    /// <summary>Where the HTML report and PNG charts go. Default <c>mixfit-compare</c>.</summary>
    public string Output { get; init; } = "mixfit-compare";

    /// <summary>Everything else, as for one training run (its <c>Policy</c> and <c>RunName</c> are set per policy).</summary>
    public TrainJobOptions Train { get; init; } = new();
}
