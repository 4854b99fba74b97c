using MixFit.Precision;

namespace MixFit.Experiments;

/// <summary>The article's experiment: one model, several policies, same seed and data (the CLI's <c>mixfit compare</c>).</summary>
public sealed record CompareOptions
{
    /// <summary>Policies to compare. Default: float32, mixed_bfloat16, mixed_float16.</summary>
    public IReadOnlyList<DTypePolicy> Policies { get; init; } = new[] { DTypePolicy.Float32, DTypePolicy.MixedBFloat16, DTypePolicy.MixedFloat16 };

    /// <summary>Run policies whose compute dtype is far slower than float32 here instead of skipping them.</summary>
    public bool Force { get; init; }

    /// <summary>Where the HTML report and PNG charts go. Default <c>mixfit-compare</c>.</summary>
    public string Output { get; init; } = "mixfit-compare";

    /// <summary>Everything else, as for one training run (its <c>Policy</c> and <c>RunName</c> are set per policy).</summary>
    public TrainJobOptions Train { get; init; } = new();
}
