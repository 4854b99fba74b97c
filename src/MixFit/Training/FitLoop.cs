using System.Diagnostics;
using MixFit.Callbacks;
using MixFit.Data;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>
/// Keras' fit loop for one <see cref="Trainer.Fit(IBatchSource, FitOptions?)"/>: the epochs, each a run of
/// <see cref="Trainer.TrainStep"/> over the batches and then validation, with the callbacks' hooks around them.
/// </summary>
/// <remarks>
/// The steps read nothing back from the device: the batch hooks get <see cref="DeviceLogs"/>, read when a callback
/// asks, and each epoch's logs are read once at its end. Resuming inside an epoch passes over its first batches
/// (the same data order); an interruption waits for the end of an accumulation group, so the position it records is
/// a whole step.
/// </remarks>
internal sealed class FitLoop(Trainer trainer, IBatchSource train, FitOptions options)
{
    private static readonly IReadOnlyDictionary<string, double> NoLogs = new Dictionary<string, double>();

    /// <summary>
    /// Checks the options against the data and the trainer's step, and shards both data sets under data
    /// parallelism (only rank 0 prints); returns what the loop runs on.
    /// </summary>
    /// <exception cref="ArgumentException">Empty data, a validation split or sample weights without in-memory data, or an option a custom step cannot honour.</exception>
    internal static (IBatchSource Train, FitOptions Options) Checked(Trainer trainer, IBatchSource train, FitOptions options)
    {
        if (options.ValidationSplit > 0)
        {
            throw new ArgumentException("A validation split needs in-memory tensors; pass FitOptions.ValidationData for a batch source.", nameof(options));
        }

        if (options.SampleWeight is not null)
        {
            throw new ArgumentException("FitOptions.SampleWeight goes with in-memory tensors (Fit(x, y, options)); a batch source gives each Batch its SampleWeight.", nameof(options));
        }

        if (train.Count == 0 || train.BatchesPerEpoch == 0)
        {
            throw new ArgumentException("The training dataset is empty (0 samples).", nameof(train));
        }

        if (trainer.HasCustomTrainStep && (options.GradientAccumulation > 1 || options.ClassWeight is not null))
        {
            throw new ArgumentException(
                $"{trainer.GetType().Name} overrides TrainStep, which owns its backward and step: FitOptions.GradientAccumulation ({options.GradientAccumulation}) and ClassWeight apply to the built-in step only. "
                + "Accumulate or weight inside your TrainStep (Context.Options has the options), or leave them unset.", nameof(options));
        }

        if (options.DataParallel is { } parallel)
        {
            train = parallel.Shard(train);
            options = options with
            {
                ValidationData = options.ValidationData is { } held ? parallel.Shard(held) : null,
                Verbose = parallel.IsPrimary ? options.Verbose : 0,
            };
            parallel.CheckSameModel(trainer.Module, $"{trainer.Precision.Policy.Name}|{trainer.CompileOptions?.Optimizer}|{trainer.Loss!.Name}|{options.Epochs}|{options.GradientAccumulation}|{train.BatchesPerEpoch}");
        }

        return (train, options);
    }

    /// <summary>Trains for the options' epochs; returns the history.</summary>
    public History Run()
    {
        var context = TrainingContext.ForFit(trainer, options, train, LogAccumulator.DisplayNames(trainer.Metrics));
        var history = new HistoryCallback();
        var callbacks = CallbackList.ForLoop(context, options.Verbose, options.Output, options.Callbacks, history);
        using var classWeights = ClassWeightTable.For(options);
        var outer = trainer.EnterLoop(context);
        try
        {
            callbacks.TrainBegin(NoLogs);
            IReadOnlyDictionary<string, double> lastLogs = NoLogs;
            for (int epoch = context.InitialEpoch; epoch < options.Epochs && !context.StopTraining; epoch++)
            {
                context.Epoch = epoch;
                callbacks.EpochBegin(epoch, NoLogs);
                var watch = Stopwatch.StartNew();
                var (logs, samples) = Epoch(epoch, epoch == context.InitialEpoch ? context.InitialStep : 0, context, callbacks, classWeights);
                if (options.DataParallel is { } ranks)
                {
                    logs = ranks.Average(logs, samples);
                }

                if (context.InterruptedAt is not null)
                {
                    // Interrupted inside the epoch: it is not complete, so no validation and no epoch end (a checkpoint
                    // of this moment records the position: see TrainingContext.InterruptedAt).
                    break;
                }

                if (options.ValidationData is { } validation)
                {
                    var (held, heldSamples) = EvaluationLoop.Run(trainer, validation, callbacks, context);
                    foreach (var (name, value) in options.DataParallel is { } parallel ? parallel.Average(held, heldSamples) : held)
                    {
                        logs["val_" + name] = value;
                    }
                }

                logs["lr"] = trainer.Optimizer!.LearningRate;
                logs["epoch_seconds"] = watch.Elapsed.TotalSeconds;
                callbacks.EpochEnd(epoch, logs);
                lastLogs = logs;
            }

            callbacks.TrainEnd(lastLogs);
            return history.History;
        }
        finally
        {
            trainer.LeaveLoop(outer);
        }
    }

    /// <summary>Appends the names a step returned that the progress bar does not show yet (a custom step's logs).</summary>
    internal static void AddNames(TrainingContext context, IReadOnlyDictionary<string, Tensor> returned)
    {
        if (returned.Keys.Any(k => !context.MetricNames.Contains(k)))
        {
            context.MetricNames = context.MetricNames.Concat(returned.Keys.Where(k => !context.MetricNames.Contains(k))).ToArray();
        }
    }

    /// <summary>One epoch of train steps from <paramref name="firstStep"/>; returns its logs and the samples (or steps) behind them.</summary>
    private (Dictionary<string, double> Logs, double Samples) Epoch(int epoch, int firstStep, TrainingContext context, CallbackList callbacks, ClassWeightTable? classWeights)
    {
        trainer.Module.train();
        var precision = trainer.Precision;
        using var logs = new LogAccumulator(trainer.Metrics);
        var window = new StepWindow(logs);
        DeviceLogs? stepLogs = null;
        int accumulated = 0;
        int step = firstStep;
        context.StepInEpoch = firstStep;

        // Resuming inside the epoch: the same data order, its first batches passed over (one dispose scope each).
        var batches = train.ScopedBatches(epoch).Skip(firstStep);
        foreach (var batch in context.StepsPerEpoch is { } limit ? batches.Take(Math.Max(0, limit - firstStep)) : batches)
        {
            callbacks.TrainBatchBegin(step, NoLogs);
            stepLogs?.Expire();
            var watch = Stopwatch.StartNew();
            bool boundary = ++accumulated == options.GradientAccumulation || step + 1 == context.StepsPerEpoch;
            var returned = trainer.InLoop(new LoopStep(logs, step == 0, options, boundary, classWeights), () => trainer.TrainStep(batch));
            if (boundary)
            {
                accumulated = 0;
            }

            logs.Set("lr", trainer.Optimizer!.LearningRate);
            logs.AddStepValues(returned);
            logs.SetLatest(precision.StepLogs());
            AddNames(context, returned);
            window.Add(watch.Elapsed.TotalSeconds);
            stepLogs = new DeviceLogs(step, logs.Names().Append(StepWindow.MsPerStep).ToArray(), window.Read);
            callbacks.TrainBatchEnd(step++, stepLogs);
            context.StepInEpoch = step;
            if (options.DataParallel is { } ranks && ranks.AnyRank(context.StopTraining) && !context.StopTraining)
            {
                // Another rank stopped at this step (Ctrl+C reaches the ranks at different moments): stop here too.
                context.RequestStop(StopReason.Interrupted);
            }

            // An interruption waits for the end of an accumulation group, so the position it records is a whole step.
            if (context.StopTraining && (accumulated == 0 || context.StopReason != StopReason.Interrupted))
            {
                if (context.StopReason == StopReason.Interrupted && step != context.StepsPerEpoch)
                {
                    context.InterruptedAt = (epoch, step);
                }

                break;
            }
        }

        if (step == firstStep && firstStep == 0)
        {
            throw new ArgumentException($"The training dataset produced no batches in epoch {epoch}.", nameof(train));
        }

        // The epoch's one read (free when a callback read the last step): the last step's logs stay readable after
        // the loop, e.g. for an interrupted epoch's progress bar.
        stepLogs?.Read();
        if (accumulated > 0)
        {
            // The epoch ended inside an accumulation group: apply what was accumulated.
            using var scope = NewDisposeScope();
            precision.Step(trainer.Optimizer!, options.Clipping);
        }

        return (logs.Logs(), logs.Samples);
    }
}
