using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using MixFit.Callbacks;
using MixFit.Data;
using MixFit.Native;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MixFit.Bench;

/// <summary>
/// The .NET side of the PyTorch comparison (bench/peers): the small CNN (batch 128, 28x28) and ResNet18 (batch 16,
/// 64x64) under float32 and mixed_bfloat16 with Adam (lr 1e-3), as TorchSharp's hand loop, MixFit's minimal loop
/// (<see cref="PrecisionStrategy"/> + <see cref="Adam"/>) and MixFit's <c>Fit</c> (one Fit of all the steps, loss
/// only, no console). The median ms/step of each is printed and, with <c>--json FILE</c>, written for
/// bench/peers/table.py to put beside PyTorch's.
/// </summary>
/// <remarks>
/// Every loop runs on the main thread: a libtorch step measured off the main thread is much slower (84 vs 131 ms for
/// ResNet18 here, BENCHMARKS.md), so threads would measure that, not the loops. The configurations still take turns
/// one step each: a <c>Fit</c> owns its iteration, so each Fit in turn drives a round, and from its batch-begin
/// callback every hand-written loop takes one step between two of Fit's. A Fit step is timed from one batch-begin to
/// the next (the step, its batch-end callbacks and the next batch); a hand-written loop takes a step in each Fit's
/// round, so it has twice the samples.
/// </remarks>
internal static class PeerBenchmark
{
    public static void Run(BenchOptions options)
    {
        var report = SystemReport.Collect();
        var rows = new JsonArray();
        foreach (var workload in new[] { Workload.SmallCnnBatch128(), Workload.ResNet18Batch16() })
        {
            Console.WriteLine();
            Console.WriteLine($"peers: {workload.Name}, {options.Steps} steps after {options.Warmup} warm-up, taking turns one step each on the main thread");
            var loops = new List<SteppedLoop>
            {
                new("TorchSharp hand loop, float32 + torch.optim.Adam", options.Warmup, HandStep(workload)),
                new("MixFit minimal loop, float32", options.Warmup, MinimalStep(workload, DTypePolicy.Float32)),
                new("MixFit minimal loop, mixed_bfloat16", options.Warmup, MinimalStep(workload, DTypePolicy.MixedBFloat16)),
            };
            var fits = new[]
            {
                RunFit("MixFit Fit, float32", workload, DTypePolicy.Float32, options, loops),
                RunFit("MixFit Fit, mixed_bfloat16", workload, DTypePolicy.MixedBFloat16, options, loops),
            };
            foreach (var (label, times) in loops.Select(l => (l.Label, l.Times)).Concat(fits))
            {
                double median = Median(times);
                Console.WriteLine($"  {label,-52} {median,9:F1} ms/step ({times.Count} steps)");
                rows.Add(new JsonObject
                {
                    ["workload"] = workload.Name.Split(' ')[0],
                    ["config"] = label,
                    ["median_ms"] = Math.Round(median, 2),
                    ["steps"] = times.Count,
                });
            }
        }

        if (options.Json is { } path)
        {
            var document = new JsonObject
            {
                ["side"] = "MixFit",
                ["libtorch"] = report.LibTorchVersion,
                ["cpu"] = report.Cpu.Model,
                ["threads"] = get_num_threads(),
                ["rows"] = rows,
            };
            File.WriteAllText(path, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"peers: written to {path}");
        }
    }

    /// <summary>
    /// The profile mode (<c>--profile DIR --profiler LIB</c>): each configuration alone, its warm-up steps, then
    /// <c>--steps</c> steps under libtorch's op profiler. Writes <c>mixfit-WORKLOAD-CONFIG.tsv</c> (the events) and
    /// <c>.json</c> (the steps' wall times) for bench/peers/profile_table.py, as pytorch_steps.py --profile does.
    /// </summary>
    public static void Profile(BenchOptions options, string directory, string library)
    {
        var profiler = OpProfiler.Load(library);
        Directory.CreateDirectory(directory);
        foreach (var workload in new[] { Workload.SmallCnnBatch128(), Workload.ResNet18Batch16() })
        {
            string name = workload.Name.Split(' ')[0];
            Console.WriteLine($"profile: {workload.Name}, {options.Steps} steps after {options.Warmup} warm-up, each configuration alone");
            string Prefix(string config) => Path.Combine(directory, $"mixfit-{name}-{config}");
            ProfileLoop(profiler, options, Prefix("hand-float32"), HandStep(workload));
            ProfileLoop(profiler, options, Prefix("minimal-float32"), MinimalStep(workload, DTypePolicy.Float32));
            ProfileLoop(profiler, options, Prefix("minimal-mixed_bfloat16"), MinimalStep(workload, DTypePolicy.MixedBFloat16));
            ProfileFit(profiler, options, Prefix("fit-float32"), workload, DTypePolicy.Float32);
            ProfileFit(profiler, options, Prefix("fit-mixed_bfloat16"), workload, DTypePolicy.MixedBFloat16);
        }
    }

    private static void ProfileLoop(OpProfiler profiler, BenchOptions options, string prefix, Action step)
    {
        for (int i = 0; i < options.Warmup; i++)
        {
            step();
        }

        var times = new List<double>();
        profiler.Start();
        for (int i = 0; i < options.Steps; i++)
        {
            long start = Stopwatch.GetTimestamp();
            step();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        WriteProfile(profiler, prefix, times);
    }

    private static void ProfileFit(OpProfiler profiler, BenchOptions options, string prefix, Workload workload, DTypePolicy policy)
    {
        var times = new List<double>();
        var watch = new Stopwatch();

        // Step k runs from batch-begin k to batch-begin k + 1: the profiler covers steps warmup .. warmup + steps - 1.
        FitOneBatchRepeatedly(workload, policy, options.Steps + options.Warmup + 1, step =>
        {
            if (step > options.Warmup && step <= options.Warmup + options.Steps)
            {
                times.Add(watch.Elapsed.TotalMilliseconds);
            }

            if (step == options.Warmup)
            {
                profiler.Start();
            }
            else if (step == options.Warmup + options.Steps)
            {
                WriteProfile(profiler, prefix, times);
            }

            watch.Restart();
        });
    }

    private static void WriteProfile(OpProfiler profiler, string prefix, List<double> times)
    {
        long events = profiler.Stop(prefix + ".tsv");
        File.WriteAllText(prefix + ".json", new JsonObject
        {
            ["side"] = "MixFit",
            ["steps"] = times.Count,
            ["step_ms"] = new JsonArray(times.Select(t => (JsonNode)Math.Round(t, 3)).ToArray()),
        }.ToJsonString());
        Console.WriteLine($"  {Path.GetFileName(prefix),-44} {Median(times),9:F1} ms/step under the profiler, {events} events");
    }

    private static Action HandStep(Workload workload)
    {
        var model = workload.NewModel();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        return () =>
        {
            using var scope = NewDisposeScope();
            var loss = F.cross_entropy(model.call(workload.X), workload.Y);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        };
    }

    private static Action MinimalStep(Workload workload, DTypePolicy policy)
    {
        var model = workload.NewModel();
        var precision = PrecisionStrategy.Create(policy);
        var optimizer = new Adam(precision.Prepare(model, CPU), 1e-3);
        return () =>
        {
            using var scope = NewDisposeScope();
            var logits = precision.ConvertOutput(model.call(precision.ConvertInput(workload.X)));
            precision.Backward(F.cross_entropy(logits, workload.Y));
            precision.Step(optimizer);
        };
    }

    /// <summary>One Fit of warm-up + steps + 1 batches (its last step is not timed: it ends with Fit's own ending); between two of its steps each hand-written loop takes one.</summary>
    private static (string Label, List<double> Times) RunFit(string label, Workload workload, DTypePolicy policy, BenchOptions options, List<SteppedLoop> loops)
    {
        var times = new List<double>();
        var watch = new Stopwatch();
        FitOneBatchRepeatedly(workload, policy, options.Steps + options.Warmup + 1, step =>
        {
            if (step > 0)
            {
                if (step > options.Warmup)
                {
                    times.Add(watch.Elapsed.TotalMilliseconds);
                }

                loops.ForEach(l => l.Step());
            }

            watch.Restart();
        });
        loops.ForEach(l => l.Step());    // the turn after Fit's last step (its own ending is not timed)
        return (label, times);
    }

    /// <summary>One Fit (Adam, lr 1e-3, no console) over the workload's batch <paramref name="batches"/> times; <paramref name="batchBegin"/> gets each step's index as it begins.</summary>
    private static void FitOneBatchRepeatedly(Workload workload, DTypePolicy policy, int batches, Action<int> batchBegin)
    {
        int begun = 0;
        var trainer = new Trainer(workload.NewModel(), CPU);
        trainer.Compile(new CompileOptions { Policy = policy, Optimizer = new OptimizerConfig { Name = "adam", LearningRate = 1e-3 } });
        trainer.Fit(new RepeatedBatch(workload.X, workload.Y, batches), new FitOptions
        {
            Epochs = 1,
            Verbose = 0,
            Output = TextWriter.Null,
            Callbacks = new Callback[] { new LambdaCallback { BatchBegin = (_, _) => batchBegin(begun++) } },
        });
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>A hand-written loop stepped from outside: its label, its step and its timed steps.</summary>
    private sealed class SteppedLoop(string label, int warmup, Action step)
    {
        private int taken;

        public string Label => label;

        /// <summary>The measured step times in milliseconds (the warm-up steps left out).</summary>
        public List<double> Times { get; } = new();

        public void Step()
        {
            long start = Stopwatch.GetTimestamp();
            step();
            if (taken++ >= warmup)
            {
                Times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }
    }

    /// <summary>One batch, yielded <paramref name="steps"/> times in one epoch, as the hand loops feed it.</summary>
    private sealed class RepeatedBatch(Tensor x, Tensor y, int steps) : IBatchSource
    {
        public int? BatchesPerEpoch => steps;

        public long? Count => steps * x.shape[0];

        public IEnumerable<Batch> GetBatches(int epoch) => Enumerable.Range(0, steps).Select(_ => new Batch(x, y));
    }
}
