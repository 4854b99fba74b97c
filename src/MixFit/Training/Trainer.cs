using System.Diagnostics;
using MixFit.Callbacks;
using MixFit.Data;
using MixFit.Losses;
using MixFit.Metrics;
using MixFit.Optimizers;
using MixFit.Precision;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>
/// Keras' <c>compile</c> / <c>fit</c> / <c>evaluate</c> / <c>predict</c> over any TorchSharp module, with a precision
/// policy, loss scaling, callbacks, the Keras console log and checkpoints that resume bit-identically.
/// </summary>
/// <remarks>
/// <para>The loop is short; everything else hooks in as callbacks. A train step (<see cref="TrainStep"/>): convert
/// the input to the compute dtype, forward, convert the output to float32, compute the float32 loss, the precision
/// strategy's scaled backward and, at an accumulation boundary, its step (unscale once, clip, check, step or skip,
/// update the scale). Precision touches the step only through that one strategy object. The loss, every batch
/// metric and the strategy's per-step logs are added up on the device; no step reads anything back. The host reads
/// them in one transfer when a callback first looks at a step's logs (<see cref="DeviceLogs"/>: the progress bar a
/// few times a second, the tracker at its interval) and at the end of each epoch, so on a GPU the CPU queues
/// the next steps while the device works.</para>
/// <example><code>
/// var trainer = new Trainer(SmallCnn.Create());
/// trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, Metrics = new[] { "accuracy" } });
/// History history = trainer.Fit(x, y, new FitOptions { Epochs = 5, BatchSize = 128, ValidationSplit = 0.1 });
/// </code></example>
/// </remarks>
public sealed class Trainer : IDisposable
{
    private static readonly IReadOnlyDictionary<string, double> NoLogs = new Dictionary<string, double>();
    private static readonly IReadOnlyDictionary<string, Tensor> NoDeviceLogs = new Dictionary<string, Tensor>();
    private readonly Device? requestedDevice;
    private PrecisionStrategy? precision;
    private List<Metric> metrics = new();
    private readonly List<string> warnings = new();
    private bool channelsLast;

    /// <summary>Wraps <paramref name="module"/>; it is placed on <paramref name="device"/> (default: CUDA when available) by <see cref="Compile"/>.</summary>
    public Trainer(nn.Module<Tensor, Tensor> module, Device? device = null)
    {
        Module = module ?? throw new ArgumentNullException(nameof(module));
        requestedDevice = device;
    }

    /// <summary>The model.</summary>
    public nn.Module<Tensor, Tensor> Module { get; }

    /// <summary>The precision strategy created by <see cref="Compile"/>.</summary>
    /// <exception cref="InvalidOperationException">Not compiled yet.</exception>
    public PrecisionStrategy Precision => precision ?? throw NotCompiled();

    /// <summary>The optimizer created by <see cref="Compile"/>, or null before.</summary>
    public Optimizer? Optimizer { get; private set; }

    /// <summary>The loss created by <see cref="Compile"/>, or null before.</summary>
    public Loss? Loss { get; private set; }

    /// <summary>The compiled metrics.</summary>
    public IReadOnlyList<Metric> Metrics => metrics;

    /// <summary>The options of the last <see cref="Compile"/>.</summary>
    public CompileOptions? CompileOptions { get; private set; }

    /// <summary>The history of the last <see cref="Fit(IBatchSource, FitOptions?)"/>.</summary>
    public History? History { get; private set; }

    /// <summary>
    /// Warnings <see cref="Compile"/> gave (each also written once to standard error), e.g. a softmax output compiled
    /// with <c>FromLogits</c>, or a GroupNorm whose parameters TorchSharp left uninitialised.
    /// </summary>
    public IReadOnlyList<string> Warnings => warnings;

    /// <summary>
    /// Sets the policy (on the first call: converts the model and creates float32 masters), the optimizer, the loss
    /// and the metrics. May be called again to change optimizer, loss or metrics under the same policy.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown optimizer, loss or metric name; the message lists the valid ones.</exception>
    /// <exception cref="InvalidOperationException">A later call names a different policy, or nothing is trainable.</exception>
    public void Compile(CompileOptions? options = null)
    {
        options ??= new CompileOptions();
        var policy = options.Policy ?? DTypePolicy.Global;
        var loss = options.CreateLoss();
        var compiled = options.Metrics.Select(name => Metric.FromName(name, loss)).ToList();
        if (precision is null)
        {
            Warn(CompileChecks.UninitialisedGroupNorms(Module));
            precision = PrecisionStrategy.Create(policy, options.CreatePrecisionOptions(policy));
            precision.Prepare(Module, requestedDevice);
            if (options.ChannelsLast)
            {
                MemoryLayout.ToChannelsLast(Module);
                channelsLast = true;
            }
        }
        else if (precision.Policy != policy)
        {
            throw new InvalidOperationException(
                $"This trainer was compiled under \"{precision.Policy.Name}\"; it cannot be recompiled under \"{policy.Name}\". Create a new Trainer over a fresh model.");
        }
        else
        {
            // Layers may have been frozen or unfrozen since the last compile (fine-tuning).
            precision.RefreshTrainable();
        }

        if (precision.Parameters.Count == 0)
        {
            throw new InvalidOperationException("The model has no trainable parameters (everything is frozen).");
        }

        WarnOnSoftmaxLogits(options, loss);
        var optimizer = options.CreateOptimizer(precision.ParameterGroups(options.LearningRateScales));
        Optimizer?.Dispose();
        Optimizer = optimizer;
        Loss = loss;
        metrics = compiled;
        CompileOptions = options;
    }

    /// <summary>
    /// Keras' <c>model.summary()</c> with the mixed-precision view: every layer's type, output shape (when
    /// <paramref name="inputShape"/> is given, e.g. <c>1, 1, 28, 28</c>: one forward pass in eval mode on zeros), parameter
    /// count, trainable count, dtype policy and weight dtype; then total, trainable, frozen and float32-master counts.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not compiled yet (the policy decides the dtypes shown).</exception>
    public string Summary(params long[] inputShape)
    {
        RequireCompiled();
        return ModelSummary.Describe(Module, precision!, inputShape);
    }

    /// <summary>Trains on .NET arrays (e.g. <c>float[n, 1, 28, 28]</c> inputs and <c>long[n]</c> labels), copied into tensors.</summary>
    public History Fit(Array x, Array y, FitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        using var inputs = from_array(x);
        using var targets = from_array(y);
        return Fit(inputs, targets, options);
    }

    /// <summary>Trains on in-memory tensors; <see cref="FitOptions.ValidationSplit"/> holds out the last samples.</summary>
    public History Fit(Tensor x, Tensor y, FitOptions? options = null)
    {
        options = (options ?? new FitOptions()).Validated();
        using var data = InMemoryFitData.Create(x, y, options);
        return Fit(data.Train, options with { ValidationData = data.Validation ?? options.ValidationData, ValidationSplit = 0, SampleWeight = null });
    }

    /// <summary>Trains on a batch source for <see cref="FitOptions.Epochs"/> epochs and returns the history.</summary>
    /// <exception cref="ArgumentException">Empty data, a validation split without in-memory data, or bad targets (named).</exception>
    /// <exception cref="CallbackException">A callback threw; the fit stopped there.</exception>
    public History Fit(IBatchSource train, FitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        options = (options ?? new FitOptions()).Validated();
        RequireCompiled();
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

        if (options.DataParallel is { } parallel)
        {
            train = parallel.Shard(train);
            options = options with
            {
                ValidationData = options.ValidationData is { } held ? parallel.Shard(held) : null,
                Verbose = parallel.IsPrimary ? options.Verbose : 0,
            };
            parallel.CheckSameModel(Module, $"{precision!.Policy.Name}|{CompileOptions?.Optimizer}|{Loss!.Name}|{options.Epochs}|{options.GradientAccumulation}|{train.BatchesPerEpoch}");
        }

        precision!.DataParallel = options.DataParallel;
        try
        {
            return FitLoop(train, options);
        }
        finally
        {
            precision.DataParallel = null;
        }
    }

    private History FitLoop(IBatchSource train, FitOptions options)
    {
        var context = TrainingContext.ForFit(this, options, train, LogAccumulator.DisplayNames(metrics));
        var history = new HistoryCallback();
        var callbacks = CallbackList.ForLoop(context, options.Verbose, options.Output, options.Callbacks, history);

        using var classWeights = ClassWeightTable.For(options);
        callbacks.TrainBegin(NoLogs);
        IReadOnlyDictionary<string, double> lastLogs = NoLogs;
        for (int epoch = context.InitialEpoch; epoch < options.Epochs && !context.StopTraining; epoch++)
        {
            context.Epoch = epoch;
            callbacks.EpochBegin(epoch, NoLogs);
            var watch = Stopwatch.StartNew();
            var (logs, samples) = TrainEpoch(train, epoch, epoch == context.InitialEpoch ? context.InitialStep : 0, options, context, callbacks, classWeights);
            if (options.DataParallel is { } ranks)
            {
                logs = ranks.Average(logs, samples);
            }

            if (context.InterruptedAt is not null)
            {
                // Interrupted inside the epoch: it is not complete, so no validation and no epoch end (a checkpoint of
                // this moment records the position: see TrainingContext.InterruptedAt).
                break;
            }

            if (options.ValidationData is { } validation)
            {
                var (held, heldSamples) = RunEvaluation(validation, callbacks, context);
                foreach (var (name, value) in options.DataParallel is { } parallel ? parallel.Average(held, heldSamples) : held)
                {
                    logs["val_" + name] = value;
                }
            }

            logs["lr"] = Optimizer!.LearningRate;
            logs["epoch_seconds"] = watch.Elapsed.TotalSeconds;
            callbacks.EpochEnd(epoch, logs);
            lastLogs = logs;
        }

        callbacks.TrainEnd(lastLogs);
        History = history.History;
        return History;
    }

    /// <summary>Evaluates on in-memory tensors; returns the loss and metrics (weighted by <paramref name="sampleWeight"/>, [samples], when given).</summary>
    public IReadOnlyDictionary<string, double> Evaluate(Tensor x, Tensor y, int batchSize = 32, int verbose = 1, TextWriter? output = null, Tensor? sampleWeight = null) =>
        Evaluate(new TensorBatchSource(x, y, batchSize, sampleWeight: sampleWeight), verbose, null, output);

    /// <summary>Evaluates on a batch source (eval mode, no gradients); returns the loss and metrics over all samples.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(IBatchSource data, int verbose = 1, IEnumerable<Callback>? callbacks = null, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        RequireCompiled();
        var context = new TrainingContext(this) { Verbose = verbose, MetricNames = LogAccumulator.DisplayNames(metrics) };
        var list = CallbackList.ForLoop(context, verbose, output, callbacks ?? Enumerable.Empty<Callback>(), null);
        return RunEvaluation(data, list, context).Logs;
    }

    /// <summary>Predicts in batches of <paramref name="batchSize"/>; returns float32 outputs on the CPU.</summary>
    public Tensor Predict(Tensor x, int batchSize = 32) => Predict(new TensorBatchSource(x, null, batchSize));

    /// <summary>Runs the model over a source in eval mode without gradients; returns the float32 outputs concatenated on the CPU.</summary>
    public Tensor Predict(IBatchSource data, IEnumerable<Callback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        RequireCompiled();
        var context = new TrainingContext(this) { TestSteps = data.BatchesPerEpoch };
        var list = new CallbackList(callbacks ?? Enumerable.Empty<Callback>(), context);
        Module.eval();
        var outputs = new List<Tensor>();
        list.PredictBegin(NoLogs);
        int batch = 0;
        using (no_grad())
        {
            foreach (var current in data.ScopedBatches(0))
            {
                list.PredictBatchBegin(batch, NoLogs);
                outputs.Add(Forward(current.X).cpu().MoveToOuterDisposeScope());
                list.PredictBatchEnd(batch++, NoLogs);
            }
        }

        list.PredictEnd(NoLogs);
        if (outputs.Count == 0)
        {
            throw new ArgumentException("The prediction dataset is empty (0 samples).", nameof(data));
        }

        var all = cat(outputs, 0);
        foreach (var o in outputs)
        {
            o.Dispose();
        }

        return all;
    }

    /// <summary>
    /// <see cref="Predict(IBatchSource, IEnumerable{Callback}?)"/> as probabilities: when the compiled loss is from logits,
    /// the softmax over classes (a sigmoid per element under binary cross-entropy or for a single output column), in
    /// float32 on the CPU; otherwise the outputs as they are (the model already ends in a softmax/sigmoid, or the
    /// loss is a regression).
    /// </summary>
    public Tensor PredictProbabilities(IBatchSource data, IEnumerable<Callback>? callbacks = null)
    {
        var outputs = Predict(data, callbacks);
        var probabilities = ClassScores.FromLoss(Loss!).Probabilities(outputs);
        if (!ReferenceEquals(probabilities, outputs))
        {
            outputs.Dispose();
        }

        return probabilities;
    }

    /// <summary>Probabilities for in-memory inputs, in batches of <paramref name="batchSize"/> (see <see cref="PredictProbabilities(IBatchSource, IEnumerable{Callback}?)"/>).</summary>
    public Tensor PredictProbabilities(Tensor x, int batchSize = 32) => PredictProbabilities(new TensorBatchSource(x, null, batchSize));

    /// <summary>Releases the optimizer state and the precision strategy (not the model).</summary>
    public void Dispose()
    {
        Optimizer?.Dispose();
        precision?.Dispose();
    }

    private void WarnOnSoftmaxLogits(CompileOptions options, Loss loss) => Warn(CompileChecks.SoftmaxFromLogits(Module, options, loss));

    private void Warn(string? warning)
    {
        if (warning is not null && !warnings.Contains(warning))
        {
            warnings.Add(warning);
            Console.Error.WriteLine($"warning: {warning}");
        }
    }

    private static InvalidOperationException NotCompiled() => new("Call Compile() before training, evaluating, predicting or saving.");

    private static Tensor Targets(Batch batch, string loop) =>
        batch.Y ?? throw new ArgumentException($"{loop} batches need targets (Batch.Y is null).");

    private void RequireCompiled()
    {
        if (precision is null || Optimizer is null || Loss is null)
        {
            throw NotCompiled();
        }
    }

    /// <summary>The model's float32 output for an input, through the precision strategy.</summary>
    private Tensor Forward(Tensor x)
    {
        var input = precision!.ConvertInput(x);
        return precision.ConvertOutput(Module.call(channelsLast ? MemoryLayout.ChannelsLast(input) : input));
    }

    /// <summary>
    /// One epoch of train steps; returns its logs and the samples behind them. The steps read nothing back from the
    /// device: the batch hooks get <see cref="DeviceLogs"/>, read when a callback asks, and the epoch's logs are read
    /// once at its end.
    /// </summary>
    private (Dictionary<string, double> Logs, double Samples) TrainEpoch(IBatchSource train, int epoch, int firstStep, FitOptions options, TrainingContext context, CallbackList callbacks, ClassWeightTable? classWeights)
    {
        Module.train();
        using var logs = new LogAccumulator(metrics);
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
            TrainStep(batch, logs, validateTargets: step == 0, options, boundary, classWeights);
            if (boundary)
            {
                accumulated = 0;
            }

            window.Add(watch.Elapsed.TotalSeconds);
            stepLogs = new DeviceLogs(step, window.Read);
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
            throw new ArgumentException($"The training dataset produced no batches in epoch {epoch}{(firstStep > 0 ? $" after step {firstStep}" : "")}.", nameof(train));
        }

        // The epoch's one read (free when a callback read the last step): the last step's logs stay readable after
        // the loop, e.g. for an interrupted epoch's progress bar.
        _ = stepLogs?.Count;
        if (accumulated > 0)
        {
            // The epoch ended inside an accumulation group: apply what was accumulated.
            using var scope = NewDisposeScope();
            precision!.Step(Optimizer!, options.Clipping);
        }

        return (logs.Logs(), logs.Samples);
    }

    /// <summary>Keras' <c>train_step</c>: forward, loss, scaled backward, and at an accumulation boundary the strategy's step.</summary>
    private void TrainStep(Batch batch, LogAccumulator logs, bool validateTargets, FitOptions options, bool boundary, ClassWeightTable? classWeights)
    {
        var target = DeviceCopy.To(Targets(batch, "Training"), precision!.Device);
        var output = Forward(batch.X);
        if (validateTargets)
        {
            Loss!.Validate(output, target);
        }

        if (classWeights is not null && batch.SampleWeight is not null)
        {
            throw new ArgumentException("The training batches carry sample weights and FitOptions.ClassWeight is set: use one or the other (as in Keras).");
        }

        var weight = classWeights?.SampleWeightsFor(output, target) ?? (batch.SampleWeight is { } given ? DeviceCopy.To(given, precision.Device) : null);
        var loss = Loss!.Compute(output, target, weight);
        precision.Backward(options.GradientAccumulation > 1 ? loss / options.GradientAccumulation : loss);
        if (boundary)
        {
            precision.Step(Optimizer!, options.Clipping);
        }

        logs.Set("lr", Optimizer!.LearningRate);
        logs.Update(loss, output, target, weight, precision.StepLogs());
    }

    /// <summary>Keras' <c>test_step</c>: forward and loss without gradients.</summary>
    private void TestStep(Batch batch, LogAccumulator logs, bool validateTargets)
    {
        var target = DeviceCopy.To(Targets(batch, "Evaluation"), precision!.Device);
        var output = Forward(batch.X);
        if (validateTargets)
        {
            Loss!.Validate(output, target);
        }

        var weight = (batch.SampleWeight is { } given ? DeviceCopy.To(given, precision.Device) : null);
        logs.Update(Loss!.Compute(output, target, weight), output, target, weight, NoDeviceLogs);
    }

    /// <summary>Keras' evaluation loop; returns the logs and the samples behind them.</summary>
    private (Dictionary<string, double> Logs, double Samples) RunEvaluation(IBatchSource data, CallbackList callbacks, TrainingContext context)
    {
        // Fresh metric objects: validation inside Fit must not disturb the training epoch's running means.
        using var logs = new LogAccumulator(metrics.Select(m => Metric.FromName(m.Name, Loss!)).ToList());
        DeviceLogs? batchLogs = null;
        context.TestSteps = data.BatchesPerEpoch;
        Module.eval();
        callbacks.TestBegin(NoLogs);
        int batch = 0;
        using (no_grad())
        {
            foreach (var current in data.ScopedBatches(0))
            {
                callbacks.TestBatchBegin(batch, NoLogs);
                batchLogs?.Expire();
                TestStep(current, logs, validateTargets: batch == 0);
                batchLogs = new DeviceLogs(batch, logs.Logs);
                callbacks.TestBatchEnd(batch++, batchLogs);
            }
        }

        if (batch == 0)
        {
            throw new ArgumentException("The evaluation dataset is empty (0 samples).", nameof(data));
        }

        var result = logs.Logs();
        callbacks.TestEnd(result);
        return (result, logs.Samples);
    }
}
