using System.Diagnostics;
using MixFit.Applications;
using MixFit.Data;
using MixFit.Kernels;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MixFit.Bench;

/// <summary>
/// What Fit costs on top of the minimal loop: the small CNN on 2,048 real images, batch 128, one epoch per round,
/// rounds alternating between the loops. Fit runs with metrics, callbacks and the progress log redirected to a file.
/// </summary>
internal static class FitBenchmark
{
    public static void Run(int rounds)
    {
        var (x, y) = FashionMnist.LoadEmbedded(FashionMnistSplit.Train).ToTensors(2048);
        var source = new TensorBatchSource(x, y, 128, shuffle: true, seed: 1);
        string log = Path.Combine(Path.GetTempPath(), $"mixfit-bench-fit-{Environment.ProcessId}.log");
        Console.WriteLine();
        Console.WriteLine($"Fit vs the minimal loop: small-cnn, 2,048 images, batch 128, {rounds} epochs each, progress log to {log}");
        foreach (var policy in new[] { DTypePolicy.Float32, DTypePolicy.MixedBFloat16 })
        {
            using var logWriter = new StreamWriter(log);
            var loops = new List<(string Label, Func<int, double> Epoch)>
            {
                ($"minimal loop, {policy.Name} + Adam", MinimalLoop(policy, source)),
                ($"Fit, {policy.Name} + Adam (fused kernels)", FitLoop(policy, source, AmpKernelPreference.Auto, logWriter)),
                ($"Fit, {policy.Name} + unfused (managed kernels)", FitLoop(policy, source, AmpKernelPreference.Managed, logWriter)),
            };
            var times = loops.ToDictionary(l => l.Label, _ => new List<double>());
            for (int round = 0; round <= rounds; round++)
            {
                foreach (var (label, epoch) in loops)
                {
                    double msPerStep = epoch(round);
                    if (round > 0)
                    {
                        times[label].Add(msPerStep);
                    }
                }
            }

            var medians = times.ToDictionary(t => t.Key, t => t.Value.Order().ElementAt(t.Value.Count / 2));
            foreach (var (label, _) in loops)
            {
                Console.WriteLine($"  {label,-52} {medians[label],8:F1} ms/step");
            }

            double overhead = medians[loops[1].Label] / medians[loops[0].Label];
            Console.WriteLine($"    Fit / minimal loop ({policy.Name})                 {overhead,6:F2}x  [<= 1.03x] {(overhead <= 1.03 ? "met" : "NOT MET")}");
            Console.WriteLine($"    Fit unfused / Fit fused ({policy.Name})            {medians[loops[2].Label] / medians[loops[1].Label],6:F2}x  [information]");
        }

        File.Delete(log);
    }

    private static Func<int, double> MinimalLoop(DTypePolicy policy, TensorBatchSource source)
    {
        manual_seed(0);
        var model = SmallCnn.Create();
        var precision = PrecisionStrategy.Create(policy);
        var optimizer = new Adam(precision.Prepare(model, CPU));
        return epoch =>
        {
            model.train();
            var watch = Stopwatch.StartNew();
            int steps = 0;
            using var batches = source.GetBatches(epoch).GetEnumerator();
            while (true)
            {
                using var scope = NewDisposeScope();
                if (!batches.MoveNext())
                {
                    break;
                }

                var logits = precision.ConvertOutput(model.call(precision.ConvertInput(batches.Current.X)));
                precision.Backward(F.cross_entropy(logits, batches.Current.Y!));
                precision.Step(optimizer);
                steps++;
            }

            return watch.Elapsed.TotalMilliseconds / steps;
        };
    }

    private static Func<int, double> FitLoop(DTypePolicy policy, TensorBatchSource source, AmpKernelPreference kernels, TextWriter log)
    {
        manual_seed(0);
        var trainer = new Trainer(SmallCnn.Create(), CPU);
        trainer.Compile(new CompileOptions { Policy = policy, Kernels = kernels, Metrics = new[] { "accuracy" } });
        return epoch =>
        {
            var watch = Stopwatch.StartNew();
            trainer.Fit(source, new FitOptions { Epochs = epoch + 1, InitialEpoch = epoch, Output = log, Verbose = 1 });
            return watch.Elapsed.TotalMilliseconds / source.BatchesPerEpoch!.Value;
        };
    }
}
