using MixFit.Callbacks;
using MixFit.Data;

namespace MixFit.Training;

/// <summary>
/// Measures what a user needs to know before choosing a policy: how fast a real training step of the model about to be
/// trained runs, through <see cref="Trainer.Fit(IBatchSource, FitOptions?)"/> itself (forward, loss, backward,
/// optimizer step through the precision strategy, loss scaling as compiled), after one warm-up step. Time-boxed: a
/// policy already far slower than the baseline is judged from its first timed step, or from its warm-up step when
/// that alone is very far slower.
/// </summary>
/// <remarks>
/// Step times are <c>Fit</c>'s own <c>ms_per_step</c>, which excludes waiting for data; each step ends with the
/// step's single device-to-host read, so on a GPU the figure covers the device's work, not only the launches. The
/// trainer's model and optimizer are trained by the probe: give it a fresh trainer, not the one you will train.
/// </remarks>
public static class StepProbe
{
    /// <summary>Times training steps of a compiled <paramref name="trainer"/> on <paramref name="data"/>.</summary>
    /// <param name="trainer">A compiled trainer over a throw-away copy of the model.</param>
    /// <param name="data">Batches like the ones training will see (the first few are used).</param>
    /// <param name="options">The time box; default <see cref="StepProbeOptions"/>.</param>
    /// <param name="baselineMs">The baseline's (float32's) ms per step, or null when measuring the baseline itself.</param>
    /// <exception cref="ArgumentException">The data yields no batch.</exception>
    public static StepTiming Measure(Trainer trainer, IBatchSource data, StepProbeOptions? options = null, double? baselineMs = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(data);
        options = (options ?? new StepProbeOptions()).Validated();
        var times = new List<double>();
        LambdaCallback? probe = null;
        probe = new LambdaCallback
        {
            BatchEnd = (_, logs) =>
            {
                times.Add(logs["ms_per_step"]);
                if (ShouldStop(times, options, baselineMs))
                {
                    probe!.Context.StopTraining = true;
                }
            },
        };
        int steps = 1 + options.MaxTimedSteps;
        trainer.Fit(data, new FitOptions { Epochs = 1, StepsPerEpoch = steps, Verbose = 0, Callbacks = new Callback[] { probe } });
        var timed = times.Skip(1).Order().ToList();
        double ms = timed.Count == 0 ? times[0] : timed[timed.Count / 2];
        return new StepTiming(trainer.Precision.Policy, ms, timed.Count, times[0]);
    }

    /// <summary>The time box: whether the steps measured so far (warm-up first) settle the figure.</summary>
    internal static bool ShouldStop(IReadOnlyList<double> times, StepProbeOptions options, double? baselineMs)
    {
        if (times.Count == 1)
        {
            return baselineMs is { } warmBase && times[0] > options.FarSlowerWarmup * warmBase && times[0] > 1000;
        }

        if (times.Count == 2 && baselineMs is { } b && times[1] > options.FarSlower * b)
        {
            return true;
        }

        return times.Skip(1).Sum() / 1000.0 >= options.SecondsPerPolicy;
    }
}
