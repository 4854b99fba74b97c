using MixFit.Applications;
using MixFit.Callbacks;
using MixFit.Native;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tracking.Store;
using MixFit.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Experiments;

/// <summary>One tracked training run from options: data, model (optionally pretrained and frozen), policy, optimizer, checkpoints, resume.</summary>
public static class TrainingJob
{
    /// <summary>The checkpoint written after every epoch in the checkpoint folder.</summary>
    public const string LastCheckpoint = "last.ckpt.safetensors";

    /// <summary>Checks names before any work: policy, model, optimizer, loss scale, device, numbers.</summary>
    /// <exception cref="ArgumentException">An invalid value; the message lists the valid ones.</exception>
    public static void Validate(TrainJobOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        DTypePolicy.Parse(options.Policy);
        ModelSpec.ValidateModel(options.Model);
        if (!OptimizerConfig.Names.Contains(options.Optimizer))
        {
            throw new ArgumentException($"Unknown optimizer \"{options.Optimizer}\". Valid optimizers: {string.Join(", ", OptimizerConfig.Names)}.");
        }

        if (options.LossScale is { } scale)
        {
            try
            {
                LossScaleOptions.Parse(scale);
            }
            catch (FormatException e)
            {
                throw new ArgumentException(e.Message, e);
            }
        }

        if (options.Device is not ("auto" or "cpu" or "cuda") && !options.Device.StartsWith("cuda:", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Unknown device \"{options.Device}\". Valid devices: auto, cpu, cuda, cuda:N.");
        }

        if (options.Epochs < 1 || options.BatchSize < 1 || !(options.LearningRate > 0) || options.ValidationSplit is < 0 or >= 1)
        {
            throw new ArgumentException($"Epochs and batch size must be at least 1, the learning rate positive and the validation split in [0, 1) (got {options.Epochs}, {options.BatchSize}, {options.LearningRate}, {options.ValidationSplit}).");
        }

        if (options.Resume && options.CheckpointDirectory is null)
        {
            throw new ArgumentException("--resume needs --checkpoint-dir (the folder with last.ckpt.safetensors).");
        }
    }

    /// <summary>Resolves <c>auto</c>/<c>cpu</c>/<c>cuda[:N]</c>, explaining how to get CUDA when it is missing.</summary>
    /// <exception cref="NotSupportedException">CUDA was asked for but is not available.</exception>
    public static Device ResolveDevice(string device)
    {
        TorchRuntime.EnsureLoaded();
        if (device == "auto")
        {
            return TorchRuntime.DefaultDevice;
        }

        if (device == "cpu")
        {
            return CPU;
        }

        if (!cuda.is_available())
        {
            throw new NotSupportedException(
                "CUDA is not available: this build uses the CPU libtorch (or no NVIDIA driver is present). To train on an NVIDIA GPU, reference "
                + "TorchSharp-cuda-linux instead of TorchSharp-cpu / libtorch-cpu-linux-x64 (in this repository: dotnet build -p:MixFitTorchBackend=cuda) "
                + "and run on a machine with the NVIDIA driver.");
        }

        return torch.device(device);
    }

    /// <summary>Runs the job; progress goes to the console (and into the tracked run's <c>output.log</c>).</summary>
    public static TrainResult Run(TrainJobOptions options, CancellationToken cancellation = default)
    {
        Validate(options);
        var device = ResolveDevice(options.Device);
        var policy = DTypePolicy.Parse(options.Policy);
        Session.Clear(options.Seed);
        int imageSize = options.ResolvedImageSize;
        using var data = ExperimentData.Load(options.Data, imageSize, c => ModelSpec.ChannelsFor(options.Model, c), options.BatchSize, options.ValidationSplit, options.Seed, options.LabelMap, options.Limit);
        var spec = new ModelSpec(options.Model, data.Labels.Count, data.Channels, imageSize, policy.Name, data.Labels.Ids, data.Labels.Names);
        var (module, overrides, transfer) = spec.Build(baseTrainable: !options.FreezeBase);
        if (options.Weights is { } weights)
        {
            if (transfer is not null)
            {
                WeightLoader.Load(transfer.Base, weights, new WeightLoadOptions { SkipClassifier = true });
            }
            else
            {
                WeightLoader.Load(module, weights);
            }
        }

        using var trainer = new Trainer(module, device);
        trainer.Compile(new CompileOptions
        {
            Policy = policy,
            Optimizer = new OptimizerConfig { Name = options.Optimizer, LearningRate = options.LearningRate },
            LossScale = options.LossScale is { } scale ? LossScaleOptions.Parse(scale) : null,
            ModuleOverrides = overrides,
            Metrics = new[] { "accuracy" },
        });

        int initialEpoch = 0;
        var callbacks = new List<Callback>();
        if (options.CheckpointDirectory is { } dir)
        {
            spec.Save(dir);
            string last = Path.Combine(dir, LastCheckpoint);
            if (options.Resume && File.Exists(last))
            {
                initialEpoch = trainer.LoadCheckpoint(last).Epoch + 1;
                Console.WriteLine($"Resuming from {last} at epoch {initialEpoch + 1}.");
            }

            callbacks.Add(new ModelCheckpoint(last));
        }

        var store = RunStore.Open(options.Store);
        using var tracking = new TrackingCallback(store, options.RunName ?? $"{options.Model}-{policy.Name}", data.Description, options.Tags);
        var cancel = new CancellationCallback(cancellation, tracking);
        callbacks.Insert(0, tracking);
        callbacks.Add(cancel);
        if (initialEpoch >= options.Epochs)
        {
            Console.WriteLine($"Nothing to do: the checkpoint already completed {initialEpoch} of {options.Epochs} epochs.");
            return new TrainResult("", new History(), false, null);
        }

        var history = trainer.Fit(data.Train, new FitOptions
        {
            Epochs = options.Epochs, InitialEpoch = initialEpoch, BatchSize = options.BatchSize, Seed = options.Seed,
            ValidationData = data.Validation, Verbose = options.Verbose, Callbacks = callbacks,
        });

        IReadOnlyDictionary<string, double>? test = null;
        if (!cancel.Cancelled && data.Test is { } testData)
        {
            test = trainer.Evaluate(testData, verbose: 0);
            tracking.Run?.UpdateSummary(test.ToDictionary(kv => "test_" + kv.Key, kv => kv.Value));
        }

        return new TrainResult(tracking.Run?.Id ?? "", history, cancel.Cancelled, test);
    }
}
