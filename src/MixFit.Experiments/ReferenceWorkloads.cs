using MixFit.Applications;
using MixFit.Precision;
using MixFit.Training;
using TorchSharp;

namespace MixFit.Experiments;

/// <summary>
/// <c>mixfit doctor</c>'s measurement: a real training step per policy on two reference workloads, the small CNN on
/// 28x28 Fashion-MNIST and resnet18 at 64x64 (Fashion-MNIST upsampled to RGB), at the batch size <c>compare</c> uses.
/// A policy more than <see cref="SkipOnLargerFactor"/> times slower than float32 on the small CNN is not measured again on
/// resnet18 (a single resnet18 step there can take minutes).
/// </summary>
public static class ReferenceWorkloads
{
    /// <summary>The policies measured: the ones <c>compare</c> trains by default.</summary>
    public static IReadOnlyList<DTypePolicy> Policies { get; } = new CompareOptions().Policies;

    /// <summary>A slowdown on the small CNN beyond which the larger workload is not measured for that policy: 3x (compare's limit).</summary>
    public const double SkipOnLargerFactor = PrecisionAdvice.DefaultMaxSlowdown;

    /// <summary>The workloads, by display name, as training options.</summary>
    public static IReadOnlyList<(string Name, TrainJobOptions Options)> Workloads { get; } = new[]
    {
        ("small-cnn 28x28", new TrainJobOptions { Model = ModelDescriptor.SmallCnn, ValidationSplit = 0, Limit = 1024 }),
        ("resnet18 64x64", new TrainJobOptions { Model = ModelDescriptor.Parse("resnet18"), ValidationSplit = 0, Limit = 1024 }),
    };

    /// <summary>Measures every workload and policy, writing one progress line per measurement to <paramref name="progress"/>.</summary>
    /// <returns>Per workload, the timings measured (float32 first); a policy left out of a workload was judged on the small CNN.</returns>
    public static IReadOnlyDictionary<string, IReadOnlyList<StepTiming>> Measure(torch.Device device, TextWriter progress, StepProbeOptions? probe = null)
    {
        ArgumentNullException.ThrowIfNull(progress);
        var results = new Dictionary<string, IReadOnlyList<StepTiming>>();
        var tooSlow = new HashSet<DTypePolicy>();
        foreach (var (name, options) in Workloads)
        {
            using var data = TrainingJob.LoadData(options);
            var timings = new List<StepTiming>();
            foreach (var policy in Policies.Where(p => !tooSlow.Contains(p)))
            {
                progress.Write($"  measuring {name} under {policy.Name}... ");
                progress.Flush();
                timings.Add(TrainingJob.ProbeStep(options, policy, data, device, probe ?? new StepProbeOptions { FarSlower = SkipOnLargerFactor }, timings.FirstOrDefault()?.MsPerStep));

                progress.WriteLine($"{timings[^1].MsPerStep:F1} ms/step");
            }

            double baseline = timings[0].MsPerStep;
            tooSlow.UnionWith(timings.Where(t => t.MsPerStep > SkipOnLargerFactor * baseline).Select(t => t.Policy));
            results[name] = timings;
        }

        return results;
    }
}
