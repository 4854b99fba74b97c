using System.Text.Json;
using MixFit.Callbacks;
using MixFit.Checkpoints;
using MixFit.Data;
using MixFit.Distributed;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.TestHost;

/// <summary>
/// Data-parallel training of a BatchNorm-free MLP on real Fashion-MNIST, run once as a single process and once under
/// <c>mpirun -np N</c>: the test compares the weights, loss scales and skipped steps.
/// </summary>
/// <remarks>
/// Usage: <c>dp OUT POLICY GLOBAL_BATCH STEPS [inject-inf-at-step] [die-on-rank-1-at-step] [hidden-on-rank-1]</c>.
/// Rank 0 writes OUT.safetensors (the float32 weights); every rank writes OUT.rankR.json.
/// </remarks>
internal static class DataParallelScenario
{
    public static int Run(string[] args)
    {
        string output = args[1];
        var policy = DTypePolicy.Parse(args[2]);
        int globalBatch = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
        int steps = int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
        int injectAt = args.Length > 5 ? int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture) : -1;
        int dieAt = args.Length > 6 ? int.Parse(args[6], System.Globalization.CultureInfo.InvariantCulture) : -1;
        int otherHidden = args.Length > 7 ? int.Parse(args[7], System.Globalization.CultureInfo.InvariantCulture) : 64;

        var parallel = DataParallel.FromEnvironment();
        int rank = parallel?.Rank ?? 0;
        manual_seed(7);
        int hidden = rank == 1 ? otherHidden : 64;
        var model = nn.Sequential(("flatten", nn.Flatten()), ("fc1", nn.Linear(784, hidden)), ("relu", nn.ReLU()), ("fc2", nn.Linear(hidden, 10)));
        var (x, y) = FashionMnist.LoadEmbedded(FashionMnistSplit.Train).ToTensors(globalBatch * steps);

        // An inf in the last sample of a global batch: under mpirun it lands on the last rank only.
        int seen = 0;
        IBatchSource source = new TensorBatchSource(x, y, globalBatch, shuffle: true, seed: 3);
        source = new MappedBatchSource(source, batch =>
        {
            if (seen++ != injectAt)
            {
                return batch;
            }

            var poisoned = batch.X.clone();
            poisoned[batch.X.shape[0] - 1, 0, 0, 0] = tensor(float.PositiveInfinity);
            return batch with { X = poisoned };
        });

        using var trainer = new Trainer(model, CPU);
        trainer.Compile(new CompileOptions { Policy = policy, Optimizer = new OptimizerConfig { Name = "sgd", LearningRate = 0.05, Momentum = 0.9 } });
        var callbacks = new List<Callback>();
        if (dieAt >= 0 && rank == 1)
        {
            callbacks.Add(new LambdaCallback { BatchEnd = (step, _) => { if (step == dieAt) { Console.Error.WriteLine($"rank {rank}: dying at step {step}"); Environment.Exit(3); } } });
        }

        try
        {
            trainer.Fit(source, new FitOptions { Epochs = 1, StepsPerEpoch = steps, Verbose = 0, DataParallel = parallel, Callbacks = callbacks });
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"rank {rank}: {e.Message}");
            return 2;
        }

        if (rank == 0)
        {
            SafeTensors.Save(output + ".safetensors", trainer.GetWeights());
        }

        var report = new Dictionary<string, double>
        {
            ["rank"] = rank,
            ["world_size"] = parallel?.WorldSize ?? 1,
            ["loss_scale"] = trainer.Precision.GetLossScale(),
            ["skipped_steps"] = trainer.Precision.GetState().LossScaler?.SkippedSteps ?? 0,
            ["communication_seconds"] = parallel?.CommunicationSeconds ?? 0,
            ["mpich_abi"] = parallel?.MpiAbi == "MPICH" ? 1 : 0,
            ["loss"] = trainer.History!["loss"][^1],
        };
        File.WriteAllText($"{output}.rank{rank}.json", JsonSerializer.Serialize(report, new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        return 0;
    }
}
