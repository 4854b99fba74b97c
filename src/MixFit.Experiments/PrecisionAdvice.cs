using System.Globalization;
using MixFit.Precision;
using MixFit.Training;

namespace MixFit.Experiments;

/// <summary>
/// The decisions MixFit makes from measured training steps (<see cref="StepProbe"/>), as pure functions: which
/// policies <c>compare</c> trains, and which policy <c>doctor</c> recommends. One rule each, in one place.
/// </summary>
public static class PrecisionAdvice
{
    /// <summary>The default largest slowdown against float32 at which <c>compare</c> still trains a policy: 3x.</summary>
    public const double DefaultMaxSlowdown = 3;

    /// <summary>A mixed policy must be at least this much faster than float32 to be recommended (5%: below that, noise).</summary>
    public const double MinimumGain = 1.05;

    /// <summary>
    /// Trains a policy when its step is at most <paramref name="maxSlowdown"/> times float32's; float32 itself always
    /// runs; without a float32 measurement every policy runs.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSlowdown"/> is below 1.</exception>
    public static IReadOnlyList<PolicyDecision> Decide(IReadOnlyList<StepTiming> timings, double maxSlowdown = DefaultMaxSlowdown)
    {
        ArgumentNullException.ThrowIfNull(timings);
        if (!(maxSlowdown >= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(maxSlowdown), maxSlowdown, "--max-slowdown must be at least 1 (1 = only policies as fast as float32).");
        }

        double? baseline = timings.FirstOrDefault(t => t.Policy == DTypePolicy.Float32)?.MsPerStep;
        return timings.Select(t =>
        {
            double? speedUp = baseline is { } b && t.MsPerStep > 0 ? b / t.MsPerStep : null;
            if (baseline is null || t.Policy == DTypePolicy.Float32)
            {
                return new PolicyDecision(t.Policy, t.MsPerStep, speedUp, true, t.Policy == DTypePolicy.Float32 ? "the baseline" : "no float32 step to compare with");
            }

            double slowdown = t.MsPerStep / baseline.Value;
            return slowdown <= maxSlowdown
                ? new PolicyDecision(t.Policy, t.MsPerStep, speedUp, true, $"{speedUp:F2}x float32's speed")
                : new PolicyDecision(t.Policy, t.MsPerStep, speedUp, false,
                    $"{slowdown.ToString("F1", CultureInfo.InvariantCulture)}x slower than float32 here (limit {maxSlowdown.ToString("0.##", CultureInfo.InvariantCulture)}x: --max-slowdown N or --force to train it anyway)");
        }).ToList();
    }

    /// <summary>
    /// The policy to use here and why, from training steps measured on one or more workloads: the mixed policy with
    /// the best geometric-mean speed-up over float32, if that is at least <see cref="MinimumGain"/>, preferring
    /// mixed_bfloat16 (no loss scaling) within 5% of mixed_float16; otherwise float32. A policy missing from a
    /// workload (not measured there because it was far slower elsewhere) cannot be recommended.
    /// </summary>
    /// <param name="workloads">Per workload name (e.g. <c>small-cnn 28x28</c>), its timings including float32's.</param>
    /// <exception cref="ArgumentException">A workload has no float32 timing.</exception>
    public static (DTypePolicy Policy, string Reason) Recommend(IReadOnlyDictionary<string, IReadOnlyList<StepTiming>> workloads)
    {
        ArgumentNullException.ThrowIfNull(workloads);
        var speedUps = new Dictionary<DTypePolicy, List<(string Workload, double SpeedUp, double Ms, double Baseline)>>();
        foreach (var (workload, timings) in workloads)
        {
            double baseline = timings.FirstOrDefault(t => t.Policy == DTypePolicy.Float32)?.MsPerStep
                ?? throw new ArgumentException($"Workload \"{workload}\" has no float32 step to compare with.", nameof(workloads));
            foreach (var t in timings.Where(t => t.Policy.IsMixed))
            {
                (speedUps.TryGetValue(t.Policy, out var list) ? list : speedUps[t.Policy] = new()).Add((workload, baseline / t.MsPerStep, t.MsPerStep, baseline));
            }
        }

        var candidates = speedUps
            .Where(kv => kv.Value.Count == workloads.Count)
            .Select(kv => (Policy: kv.Key, Mean: Math.Exp(kv.Value.Average(v => Math.Log(v.SpeedUp))), Figures: kv.Value))
            .OrderByDescending(c => c.Mean)
            .ToList();
        string Cite(IEnumerable<(string Workload, double SpeedUp, double Ms, double Baseline)> figures) =>
            string.Join("; ", figures.Select(f => $"{f.Workload}: {f.Ms:F1} vs {f.Baseline:F1} ms/step ({f.SpeedUp:F2}x)"));
        if (candidates.Count == 0 || candidates[0].Mean < MinimumGain)
        {
            string detail = candidates.Count == 0 ? "no mixed policy was measured on every workload" : string.Join(", ", candidates.Select(c => $"{c.Policy.Name} {c.Mean:F2}x"));
            return (DTypePolicy.Float32, $"no mixed policy trains at least {MinimumGain:F2}x faster than float32 here ({detail}), so half precision would only slow training down");
        }

        var best = candidates[0];
        var bf16 = candidates.FirstOrDefault(c => c.Policy == DTypePolicy.MixedBFloat16);
        if (best.Policy == DTypePolicy.MixedFloat16 && bf16.Policy is not null && bf16.Mean >= MinimumGain && bf16.Mean >= best.Mean / 1.05)
        {
            best = bf16;
        }

        string why = best.Policy == DTypePolicy.MixedBFloat16 ? "and needs no loss scaling" : "with dynamic loss scaling keeping its gradients from underflowing";
        return (best.Policy, $"it trains {best.Mean:F2}x faster than float32 here {why} ({Cite(best.Figures)})");
    }
}
