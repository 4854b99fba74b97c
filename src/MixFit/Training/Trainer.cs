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
/// <para>The steps (<see cref="TrainStep"/>, <see cref="TestStep"/>, <see cref="PredictStep"/>, <see cref="ComputeLoss"/>)
/// are overridable, in Trainer.Steps.cs: subclass to customise what happens in fit and keep the rest.</para>
/// <example><code>
/// var trainer = new Trainer(SmallCnn.Create());
/// trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, Metrics = new[] { "accuracy" } });
/// History history = trainer.Fit(x, y, new FitOptions { Epochs = 5, BatchSize = 128, ValidationSplit = 0.1 });
/// </code></example>
/// </remarks>
public partial class Trainer : IDisposable
{
    private static readonly IReadOnlyDictionary<string, double> NoLogs = new Dictionary<string, double>();
    private static readonly IReadOnlyDictionary<string, Tensor> NoDeviceLogs = new Dictionary<string, Tensor>();
    private readonly Device? requestedDevice;
    private readonly Dictionary<string, Optimizer> addedOptimizers = new(StringComparer.Ordinal);
    private LoopStep? loopStep;
    private const string CompiledOptimizerName = "optimizer";
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

    /// <summary>
    /// Every optimizer a checkpoint carries, by name: <c>optimizer</c> (the compiled <see cref="Optimizer"/>), then
    /// those <see cref="AddOptimizer"/> added (a GAN's second optimizer). Empty before <see cref="Compile"/>.
    /// </summary>
    public IReadOnlyDictionary<string, Optimizer> Optimizers =>
        Optimizer is null ? addedOptimizers : new[] { KeyValuePair.Create(CompiledOptimizerName, Optimizer) }.Concat(addedOptimizers).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    /// <summary>
    /// Adds an optimizer a custom <see cref="TrainStep"/> steps besides the compiled one (a GAN's generator optimizer,
    /// built over <c>Precision.ParametersUnder("generator")</c>): it is checkpointed and restored under
    /// <paramref name="name"/> and disposed with the trainer. With <paramref name="ownLossScaler"/> (default) it gets
    /// its own loss scaler of the same name (<see cref="PrecisionStrategy.AddLossScaler"/>): pass it to
    /// <c>Precision.Backward(loss, optimizer)</c> and <c>Precision.Step(optimizer)</c>. Call it after
    /// <see cref="Compile"/>, the same way in every run that resumes a checkpoint.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken (<c>optimizer</c> is the compiled one's), or not lower-case letters, digits and '_' starting with a letter.</exception>
    /// <exception cref="InvalidOperationException">Not compiled yet.</exception>
    public void AddOptimizer(string name, Optimizer optimizer, bool ownLossScaler = true)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        RequireCompiled();
        if (name == CompiledOptimizerName || addedOptimizers.ContainsKey(name))
        {
            throw new ArgumentException($"An optimizer named \"{name}\" exists already (the trainer has: {string.Join(", ", Optimizers.Keys)}); pick another name.", nameof(name));
        }

        OptimizerScalers.CheckName(name, "An optimizer's");
        if (ownLossScaler)
        {
            precision!.AddLossScaler(name, optimizer);
        }

        addedOptimizers[name] = optimizer;
    }

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
    /// <exception cref="ArgumentException">Empty data, a validation split without in-memory data, bad targets (named), or an option a custom <see cref="TrainStep"/> cannot honour.</exception>
    /// <exception cref="CallbackException">A callback threw; the fit stopped there.</exception>
    public History Fit(IBatchSource train, FitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        RequireCompiled();
        (train, options) = FitLoop.Checked(this, train, (options ?? new FitOptions()).Validated());
        precision!.DataParallel = options.DataParallel;
        try
        {
            History = new FitLoop(this, train, options).Run();
            return History;
        }
        finally
        {
            precision.DataParallel = null;
        }
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
        var outer = EnterLoop(context);
        try
        {
            return EvaluationLoop.Run(this, data, list, context).Logs;
        }
        finally
        {
            LeaveLoop(outer);
        }
    }

    /// <summary>Predicts in batches of <paramref name="batchSize"/>; returns float32 outputs on the CPU.</summary>
    public Tensor Predict(Tensor x, int batchSize = 32) => Predict(new TensorBatchSource(x, null, batchSize));

    /// <summary>Runs the model over a source in eval mode without gradients; returns the float32 outputs concatenated on the CPU.</summary>
    public Tensor Predict(IBatchSource data, IEnumerable<Callback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        RequireCompiled();
        return PredictLoop.Run(this, data, callbacks ?? Enumerable.Empty<Callback>());
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

    /// <summary>Releases the optimizers' state and the precision strategy (not the model).</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the optimizers' state and the precision strategy when <paramref name="disposing"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Optimizer?.Dispose();
            foreach (var added in addedOptimizers.Values)
            {
                added.Dispose();
            }

            addedOptimizers.Clear();
            precision?.Dispose();
        }
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
}
