using System.Diagnostics;
using MixFit.Callbacks;
using MixFit.Checkpoints;
using MixFit.Data;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.TestHost;

/// <summary>
/// One reproducible fit that can be interrupted after an epoch (by an exception or by SIGKILL) and resumed with
/// <see cref="BackupAndRestore"/>: mixed_float16 with a fast-growing dynamic loss scale, Adam, and dropout, so
/// resuming must restore weights, optimizer moments, the loss scale and the random generator.
/// </summary>
public static class ResumeScenario
{
    public const int Epochs = 4;

    /// <summary>How to interrupt the run after epoch <c>interruptAfter</c> (0-based).</summary>
    public enum Interruption
    {
        None,
        Throw,
        Kill,

        /// <summary>A Ctrl+C-like stop (<see cref="StopReason.Interrupted"/>) inside epoch <c>interruptAfter</c>, after step <c>interruptStep</c>.</summary>
        InsideEpoch,
    }

    private sealed class InterruptAt(int epoch, int step) : Callback
    {
        public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
        {
            if (Context.Epoch == epoch && batch + 1 == step)
            {
                Context.RequestStop(StopReason.Interrupted);
            }
        }
    }

    /// <summary>What a run did: its final float32 weights, the epoch it restored (null: started fresh), the epochs and steps it trained.</summary>
    public sealed record Result(Dictionary<string, Tensor> Weights, int? RestoredEpoch, IReadOnlyList<int> EpochsRun, int StepsRun, int? RestoredStep = null)
    {
        /// <summary>One line for the test host's standard output.</summary>
        public string Describe() => $"restored={RestoredEpoch?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} epochs={string.Join(',', EpochsRun)} steps={StepsRun}";
    }

    /// <summary>Runs (or resumes) the fit.</summary>
    public static Result Run(string backupDirectory, Interruption interruption = Interruption.None, int interruptAfter = 1, int interruptStep = 3)
    {
        Session.Clear(seed: 11);
        var (x, y) = FashionMnist.LoadEmbedded(FashionMnistSplit.Train).ToTensors(256);
        var model = nn.Sequential(
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(784, 32)),
            ("relu", nn.ReLU()),
            ("dropout", nn.Dropout(0.3)),
            ("fc2", nn.Linear(32, 10)));
        using var trainer = new Trainer(model, CPU);
        trainer.Compile(new CompileOptions
        {
            Policy = DTypePolicy.MixedFloat16,
            LossScale = LossScaleOptions.Dynamic(initialScale: 1024, growthInterval: 3),
            Optimizer = new OptimizerConfig { Name = "adam", LearningRate = 3e-3 },
            Metrics = new[] { "accuracy" },
        });

        var backup = new BackupAndRestore(backupDirectory);
        var epochsRun = new List<int>();
        int steps = 0;
        var counter = new LambdaCallback { EpochBegin = (epoch, _) => epochsRun.Add(epoch), BatchEnd = (_, _) => steps++ };
        var callbacks = new List<Callback> { backup, counter };
        if (interruption == Interruption.InsideEpoch)
        {
            callbacks.Add(new InterruptAt(interruptAfter, interruptStep));
        }
        else if (interruption != Interruption.None)
        {
            callbacks.Add(new LambdaCallback
            {
                EpochEnd = (epoch, _) =>
                {
                    if (epoch == interruptAfter)
                    {
                        if (interruption == Interruption.Kill)
                        {
                            Process.GetCurrentProcess().Kill();
                        }

                        throw new InvalidOperationException($"interrupted after epoch {epoch}");
                    }
                },
            });
        }

        trainer.Fit(x, y, new FitOptions { Epochs = Epochs, BatchSize = 32, Seed = 3, Verbose = 0, Callbacks = callbacks });
        return new Result(trainer.GetWeights(), backup.RestoredEpoch, epochsRun, steps, backup.RestoredStep);
    }
}
