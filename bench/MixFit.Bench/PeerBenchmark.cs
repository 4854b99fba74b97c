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
/// only, no console). All configurations of a workload take turns one step each (<see cref="TurnTaking"/>), Fit's
/// steps included; the median ms/step of each is printed and, with <c>--json FILE</c>, written for
/// bench/peers/table.py to put beside PyTorch's.
/// </summary>
internal static class PeerBenchmark
{
    public static void Run(BenchOptions options)
    {
        var report = SystemReport.Collect();
        var rows = new JsonArray();
        foreach (var workload in new[] { Workload.SmallCnnBatch128(), Workload.ResNet18Batch16() })
        {
            Console.WriteLine();
            Console.WriteLine($"peers: {workload.Name}, {options.Steps} steps after {options.Warmup} warm-up, taking turns one step each");
            var turns = new TurnTaking();
            var configs = new[]
            {
                turns.Add("TorchSharp hand loop, float32 + torch.optim.Adam", options.Warmup, p => HandLoop(workload, options.Steps + options.Warmup, p)),
                turns.Add("MixFit minimal loop, float32", options.Warmup, p => MinimalLoop(workload, DTypePolicy.Float32, options.Steps + options.Warmup, p)),
                turns.Add("MixFit minimal loop, mixed_bfloat16", options.Warmup, p => MinimalLoop(workload, DTypePolicy.MixedBFloat16, options.Steps + options.Warmup, p)),
                turns.Add("MixFit Fit, float32", options.Warmup, p => FitLoop(workload, DTypePolicy.Float32, options.Steps + options.Warmup, p)),
                turns.Add("MixFit Fit, mixed_bfloat16", options.Warmup, p => FitLoop(workload, DTypePolicy.MixedBFloat16, options.Steps + options.Warmup, p)),
            };
            turns.Run();
            foreach (var config in configs)
            {
                double median = Median(config.Times);
                Console.WriteLine($"  {config.Label,-52} {median,9:F1} ms/step ({config.Times.Count} steps)");
                rows.Add(new JsonObject
                {
                    ["workload"] = workload.Name.Split(' ')[0],
                    ["config"] = config.Label,
                    ["median_ms"] = Math.Round(median, 2),
                    ["steps"] = config.Times.Count,
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

    private static void HandLoop(Workload workload, int steps, TurnTaking.Participant turn)
    {
        var model = workload.NewModel();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (int i = 0; i < steps; i++)
        {
            turn.Step();
            using var scope = NewDisposeScope();
            var loss = F.cross_entropy(model.call(workload.X), workload.Y);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
    }

    private static void MinimalLoop(Workload workload, DTypePolicy policy, int steps, TurnTaking.Participant turn)
    {
        var model = workload.NewModel();
        var precision = PrecisionStrategy.Create(policy);
        var optimizer = new Adam(precision.Prepare(model, CPU), 1e-3);
        for (int i = 0; i < steps; i++)
        {
            turn.Step();
            using var scope = NewDisposeScope();
            var logits = precision.ConvertOutput(model.call(precision.ConvertInput(workload.X)));
            precision.Backward(F.cross_entropy(logits, workload.Y));
            precision.Step(optimizer);
        }
    }

    private static void FitLoop(Workload workload, DTypePolicy policy, int steps, TurnTaking.Participant turn)
    {
        var trainer = new Trainer(workload.NewModel(), CPU);
        trainer.Compile(new CompileOptions { Policy = policy, Optimizer = new OptimizerConfig { Name = "adam", LearningRate = 1e-3 } });
        trainer.Fit(new RepeatedBatch(workload.X, workload.Y, steps), new FitOptions
        {
            Epochs = 1,
            Verbose = 0,
            Output = TextWriter.Null,
            Callbacks = new Callback[] { new LambdaCallback { BatchBegin = (_, _) => turn.Step() } },
        });
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>One batch, yielded <paramref name="steps"/> times in one epoch, as the hand loops feed it.</summary>
    private sealed class RepeatedBatch(Tensor x, Tensor y, int steps) : IBatchSource
    {
        public int? BatchesPerEpoch => steps;

        public long? Count => steps * x.shape[0];

        public IEnumerable<Batch> GetBatches(int epoch) => Enumerable.Range(0, steps).Select(_ => new Batch(x, y));
    }
}
