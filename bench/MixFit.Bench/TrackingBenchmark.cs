using System.Diagnostics;
using MixFit.Applications;
using MixFit.Callbacks;
using MixFit.Integration.Tracking;
using MixFit.Data;
using MixFit.Precision;
using MixFit.Tracking.Store;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Bench;

/// <summary>The tracker's cost: logging throughput, and what tracking (with the system sampler) adds to a Fit step.</summary>
internal static class TrackingBenchmark
{
    public static void Run(int rounds)
    {
        string root = Directory.CreateTempSubdirectory("mixfit-bench-track-").FullName;
        try
        {
            var store = RunStore.Open(root);
            Console.WriteLine();
            Console.WriteLine("Tracking");
            var run = store.StartRun("throughput");
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < 100_000; i++)
            {
                run.Log("step", i, new Dictionary<string, double> { ["loss"] = 1.0 / (i + 1) });
            }

            run.Finish();
            double seconds = watch.Elapsed.TotalSeconds;
            Console.WriteLine($"  log + flush 100,000 metric points: {seconds:F2} s  [< 2 s] {(seconds < 2 ? "met" : "NOT MET")}");

            var (x, y) = FashionMnist.LoadEmbedded(FashionMnistSplit.Train).ToTensors(2048);
            var source = new TensorBatchSource(x, y, 128, shuffle: true, seed: 1);
            var plain = Trainer(DTypePolicy.MixedBFloat16);
            var tracked = Trainer(DTypePolicy.MixedBFloat16);
            // Step time = the interval between consecutive batch ends, so it includes the tracker's per-step work but
            // not the once-per-run start (folder, config, environment probe), which a real run pays once.
            var times = new Dictionary<string, List<double>> { ["plain"] = new(), ["tracked"] = new() };
            for (int round = 0; round <= rounds; round++)
            {
                foreach (var (label, trainer) in new[] { ("plain", plain), ("tracked", tracked) })
                {
                    using var tracking = label == "tracked" ? new TrackingCallback(store, $"overhead-{round}", captureConsole: false) : null;
                    var clock = new StepClock();
                    var callbacks = tracking is null ? new Callback[] { clock } : new Callback[] { tracking, clock };
                    trainer.Fit(source, new FitOptions { Epochs = round + 1, InitialEpoch = round, Verbose = 0, Callbacks = callbacks });
                    if (round > 0)
                    {
                        times[label].AddRange(clock.Intervals);
                    }
                }
            }

            double plainMs = times["plain"].Order().ElementAt(times["plain"].Count / 2);
            double trackedMs = times["tracked"].Order().ElementAt(times["tracked"].Count / 2);
            Console.WriteLine($"  Fit small-cnn mixed_bfloat16, median of {times["plain"].Count} steps each: {plainMs:F2} ms/step plain, {trackedMs:F2} ms/step tracked (run + system sampler)");
            Console.WriteLine($"    tracked / plain {trackedMs / plainMs,6:F3}x  [<= 1.01x] {(trackedMs / plainMs <= 1.01 ? "met" : "NOT MET")}");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private sealed class StepClock : Callback
    {
        private readonly Stopwatch watch = Stopwatch.StartNew();
        private double? last;

        public List<double> Intervals { get; } = new();

        public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
        {
            double now = watch.Elapsed.TotalMilliseconds;
            if (last is { } previous && batch > 0)
            {
                Intervals.Add(now - previous);
            }

            last = now;
        }
    }

    private static Trainer Trainer(DTypePolicy policy)
    {
        manual_seed(0);
        var trainer = new Trainer(SmallCnn.Create(), CPU);
        trainer.Compile(new CompileOptions { Policy = policy, Metrics = new[] { "accuracy" } });
        return trainer;
    }
}
