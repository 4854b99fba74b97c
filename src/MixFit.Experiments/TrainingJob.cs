using MixFit.Applications;
using MixFit.Callbacks;
using MixFit.Data;
using MixFit.Distributed;
using MixFit.Integration.Tracking;
using MixFit.IO;
using MixFit.Precision;
using MixFit.Tracking.Store;
using MixFit.Training;

namespace MixFit.Experiments;

/// <summary>One tracked training run from options: data, model (optionally pretrained and frozen), policy, optimizer, checkpoints, resume.</summary>
public static class TrainingJob
{
    /// <summary>The checkpoint written after every epoch in the checkpoint folder.</summary>
    public const string LastCheckpoint = "last.ckpt.safetensors";

    /// <summary>Checks the numbers and combinations before any work (names were checked when the options were parsed).</summary>
    /// <exception cref="ArgumentException">An invalid value, named.</exception>
    public static void Validate(TrainJobOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Epochs < 1 || options.BatchSize < 1 || !(options.Optimizer.LearningRate > 0) || options.ValidationSplit is < 0 or >= 1)
        {
            throw new ArgumentException($"Epochs and batch size must be at least 1, the learning rate positive and the validation split in [0, 1) (got {options.Epochs}, {options.BatchSize}, {options.Optimizer.LearningRate}, {options.ValidationSplit}).");
        }

        if (options.ImageSize is < 8 or > 4096)
        {
            throw new ArgumentException($"--image-size must be between 8 and 4096 pixels, got {options.ImageSize}.");
        }

        if (options.Limit is < 1)
        {
            throw new ArgumentException($"--limit must be at least 1 image, got {options.Limit}.");
        }

        if (options.Resume && options.CheckpointDirectory is null)
        {
            throw new ArgumentException("--resume needs --checkpoint-dir (the folder with last.ckpt.safetensors).");
        }
    }

    /// <summary>Runs the job; progress goes to <paramref name="output"/> (and, through the console, into the tracked run's <c>output.log</c>).</summary>
    /// <param name="options">What to train.</param>
    /// <param name="output">Where the Keras log and messages go (see <see cref="JobOutput"/> for the console).</param>
    /// <param name="cancellation">Stops training after the current step.</param>
    public static TrainResult Run(TrainJobOptions options, TextWriter output, CancellationToken cancellation = default)
    {
        Validate(options);
        ArgumentNullException.ThrowIfNull(output);

        // Under mpirun: one replica per rank; rank 0 alone prints, tracks and writes checkpoints.
        var parallel = DataParallel.FromEnvironment();
        bool primary = parallel?.IsPrimary ?? true;

        // One writer per checkpoint folder, taken before anything is read or written there (a resume too); the kernel
        // drops it when this process ends, however it ends.
        using var folderLock = primary && options.CheckpointDirectory is { } locked ? FolderLock.Acquire(locked, "mixfit train") : null;
        var write = new JobOutput(primary ? output : TextWriter.Null);
        write.Writer.WriteLine($"Training {options.Model.Name} under {options.Policy.Name} on {options.Data} (loading data and TorchSharp)...");
        var device = options.Device.Resolve();
        if (parallel is not null)
        {
            device = DataParallel.DeviceFor(device);    // one GPU per rank on each machine
        }

        var policy = options.Policy;
        Session.Clear(options.Seed);
        using var data = LoadData(options);
        var (trainer, spec) = CreateTrainer(options, data, device);
        using var _ = trainer;

        int initialEpoch = 0;
        int initialStep = 0;
        string? resumeRunId = null;
        var callbacks = new List<Callback>();
        if (options.CheckpointDirectory is { } dir)
        {
            string last = Path.Combine(dir, LastCheckpoint);
            if (options.Resume && File.Exists(last))
            {
                // Check everything before writing anything: a failed resume leaves the folder as it was.
                if (File.Exists(Path.Combine(dir, ModelSpec.FileName)) && ModelSpec.LoadBeside(last) is var saved
                    && (saved.Model != spec.Model || saved.Classes != spec.Classes || saved.Channels != spec.Channels || saved.ImageSize != spec.ImageSize))
                {
                    throw new ArgumentException(
                        $"{Path.Combine(dir, ModelSpec.FileName)}: the checkpoint holds {saved.Model} ({saved.Classes} classes, {saved.Channels} channels, {saved.ImageSize} px), "
                        + $"not {spec.Model} ({spec.Classes} classes, {spec.Channels} channels, {spec.ImageSize} px); resume with the same --model, data and --image-size.");
                }

                (initialEpoch, initialStep) = trainer.LoadCheckpoint(last).ResumeAt;
                resumeRunId = ResumedRun.Read(dir);
                write.Writer.WriteLine($"Resuming from {last} at epoch {initialEpoch + 1}{(initialStep > 0 ? $", step {initialStep + 1}" : "")}.");
            }

            if (primary)
            {
                spec.Save(dir);
                callbacks.Add(new ModelCheckpoint(last, output: write.ForFit));
            }
        }

        var store = primary ? RunStore.Open(options.Store) : null;
        using var tracking = store is null ? null : new TrackingCallback(store, options.ResolvedRunName, data.Description, options.Tags)
        {
            ResumeRunId = resumeRunId is { } id && store.List().Any(r => r.Id == id) ? id : null,
            ModelName = options.Model.Name,
            Output = write.ForFit,
            ExtraConfig = new System.Text.Json.Nodes.JsonObject
            {
                ["image_size"] = options.ResolvedImageSize,
                ["channels"] = data.Channels,
                ["classes"] = data.Labels.Count,
                ["weights"] = options.Weights,
                ["freeze_base"] = options.FreezeBase,
                ["device"] = device.type.ToString().ToLowerInvariant(),
                ["class_weight"] = options.ClassWeight?.Text,
                ["metrics"] = string.Join(",", options.Metrics),
                ["world_size"] = parallel?.WorldSize ?? 1,
            },
        };
        if (parallel is not null && tracking?.ExtraConfig is { } extra)
        {
            // The whole training set, not this rank's shard.
            extra["samples"] = data.Train.Count;
        }

        var cancel = new CancellationCallback(cancellation);
        if (tracking is not null)
        {
            callbacks.Add(tracking);    // runs before the others (Callback.TrackingOrder), wherever it is listed
        }

        callbacks.Add(cancel);
        if (initialEpoch >= options.Epochs)
        {
            write.Writer.WriteLine($"Nothing to do: the checkpoint already completed {initialEpoch} of {options.Epochs} epochs.");
            return new TrainResult("", new History(), false, null);
        }

        if (options.CheckpointDirectory is { } folder && primary)
        {
            // Once the tracker (its order runs it first) has its run: the checkpoint folder remembers which run it belongs to.
            callbacks.Add(new LambdaCallback { TrainBegin = _ => ResumedRun.Write(folder, tracking?.Run?.Id) });
        }

        var history = trainer.Fit(data.Train, new FitOptions
        {
            Epochs = options.Epochs, InitialEpoch = initialEpoch, InitialStep = initialStep, BatchSize = options.BatchSize, Seed = options.Seed,
            ValidationData = data.Validation, Verbose = options.Verbose, Callbacks = callbacks, Output = write.ForFit,
            ClassWeight = options.ClassWeight?.Resolve(data.ClassCounts), DataParallel = parallel,
        });

        if (cancel.Cancelled && primary && options.CheckpointDirectory is { } checkpoints && cancel.Context.InterruptedAt is { } at)
        {
            // Ctrl+C inside an epoch: record the position so --resume continues from the next step, not the next epoch.
            trainer.SaveCheckpoint(Path.Combine(checkpoints, LastCheckpoint), at.Epoch, at.Step);
            write.Writer.WriteLine($"Saved {Path.Combine(checkpoints, LastCheckpoint)} at epoch {at.Epoch + 1}, step {at.Step}; --resume continues from there.");
        }

        IReadOnlyDictionary<string, double>? test = null;
        if (!cancel.Cancelled && primary && data.Test is { } testData)
        {
            test = trainer.Evaluate(testData, verbose: 0);
            tracking?.Run?.UpdateSummary(test.ToDictionary(kv => "test_" + kv.Key, kv => kv.Value));
        }

        if (options.ExtraSummary.Count > 0)
        {
            tracking?.Run?.UpdateSummary(options.ExtraSummary);
        }

        if (parallel is not null)
        {
            tracking?.Run?.UpdateSummary(new Dictionary<string, double> { ["world_size"] = parallel.WorldSize, ["communication_seconds"] = parallel.CommunicationSeconds });
        }

        return new TrainResult(tracking?.Run?.Id ?? "", history, cancel.Cancelled, test);
    }

    /// <summary>Loads the options' data (train, validation and test batches) at the model's input size and channels.</summary>
    internal static ExperimentData LoadData(TrainJobOptions options) =>
        ExperimentData.Load(
            options.Data, options.ResolvedImageSize, options.Model.ChannelsFor, options.BatchSize, options.ValidationSplit, options.Seed, options.LabelMap, options.Limit,
            options.BuiltInWeights is null ? null : PixelNormalization.UnitRange);

    /// <summary>
    /// Times a training step of the options' model under <paramref name="policy"/> on a throw-away trainer built as
    /// training builds it (same seed), for <c>compare</c>'s probe and <c>doctor</c>'s reference workloads.
    /// </summary>
    internal static StepTiming ProbeStep(
        TrainJobOptions options, DTypePolicy policy, ExperimentData data, TorchSharp.torch.Device device, StepProbeOptions probe, double? baselineMs)
    {
        Session.Clear(options.Seed);
        var (trainer, _) = CreateTrainer(options with { Policy = policy }, data, device);
        using (trainer)
        {
            return StepProbe.Measure(trainer, data.Train, probe, baselineMs);
        }
    }

    /// <summary>
    /// Builds the options' model for <paramref name="data"/> (pretrained weights loaded, base frozen if asked) and a
    /// trainer compiled as training compiles it: the one place a job's model and compile options are made, shared by
    /// the training run and <c>compare</c>'s step probe.
    /// </summary>
    internal static (Trainer Trainer, ModelSpec Spec) CreateTrainer(TrainJobOptions options, ExperimentData data, TorchSharp.torch.Device device)
    {
        var spec = new ModelSpec(options.Model.Name, data.Labels.Count, data.Channels, options.ResolvedImageSize, options.Policy.Name, data.Labels.Ids, data.Labels.Names, options.BuiltInWeights,
            Enumerable.Range(0, data.Channels).Select(data.Normalization.MeanOf).ToArray(), Enumerable.Range(0, data.Channels).Select(data.Normalization.StdOf).ToArray());
        var model = spec.Build(baseTrainable: !options.FreezeBase);
        if (options.BuiltInWeights is null && options.Weights is { } weights)
        {
            if (model.Transfer is { } transfer)
            {
                WeightLoader.Load(transfer.Base, weights, new WeightLoadOptions { SkipClassifier = true });
            }
            else
            {
                WeightLoader.Load(model.Module, weights);
            }
        }

        var trainer = new Trainer(model.Module, device);
        trainer.Compile(new CompileOptions
        {
            Policy = options.Policy,
            Optimizer = options.Optimizer,
            LossScale = options.LossScale,
            ModuleOverrides = model.PrecisionOverrides,
            Metrics = options.Metrics,
        });
        return (trainer, spec);
    }
}
