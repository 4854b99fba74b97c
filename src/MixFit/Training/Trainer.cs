using System.Diagnostics;
using System.Text.Json;
using MixFit.Callbacks;
using MixFit.Checkpoints;
using MixFit.Data;
using MixFit.Losses;
using MixFit.Metrics;
using MixFit.Optimizers;
using MixFit.Precision;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>
/// Keras' <c>compile</c> / <c>fit</c> / <c>evaluate</c> / <c>predict</c> over any TorchSharp module, with a precision
/// policy, loss scaling, callbacks, the Keras console log and checkpoints that resume bit-identically.
/// </summary>
/// <remarks>
/// <para>The loop is short; everything else hooks in as callbacks. Per training step: convert the input to the
/// compute dtype, forward, convert the output to float32, compute the float32 loss, scaled backward, and at an
/// accumulation boundary the precision strategy's step (unscale once, clip, check, step or skip, update the scale).
/// All batch metrics, the loss, the scale and the skipped count come back to the host in one transfer per step.</para>
/// <example><code>
/// var trainer = new Trainer(SmallCnn.Create());
/// trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, Metrics = new[] { "accuracy" } });
/// History history = trainer.Fit(x, y, new FitOptions { Epochs = 5, BatchSize = 128, ValidationSplit = 0.1 });
/// </code></example>
/// </remarks>
public sealed class Trainer : IDisposable
{
    private const string CheckpointFormat = "mixfit-checkpoint";
    private static readonly IReadOnlyDictionary<string, double> NoLogs = new Dictionary<string, double>();
    private readonly Device? requestedDevice;
    private PrecisionStrategy? precision;
    private List<Metric> metrics = new();
    private double lossTotal;
    private double lossCount;

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
    /// Sets the policy (on the first call: converts the model and creates float32 masters), the optimizer, the loss
    /// and the metrics. May be called again to change optimizer, loss or metrics under the same policy.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown optimizer, loss or metric name; the message lists the valid ones.</exception>
    /// <exception cref="InvalidOperationException">A later call names a different policy.</exception>
    public void Compile(CompileOptions? options = null)
    {
        options ??= new CompileOptions();
        var policy = options.Policy ?? DTypePolicy.Global;
        var loss = options.CreateLoss();
        var compiled = options.Metrics.Select(name => Metric.FromName(name, loss)).ToList();
        if (precision is null)
        {
            precision = PrecisionStrategy.Create(policy, new PrecisionOptions
            {
                LossScale = options.ResolveLossScale(policy),
                ModuleOverrides = options.ModuleOverrides,
                Kernels = options.Kernels,
            });
            precision.Prepare(Module, requestedDevice);
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

        var optimizer = options.OptimizerFactory?.Invoke(precision.Parameters) ?? options.Optimizer.Create(precision.Parameters, precision.Kernels);
        foreach (var group in Enumerable.Range(0, precision.Parameters.Count)
            .Select(i => (Index: i, Scale: ScaleFor(precision.ParameterNames[i], options.LearningRateScales)))
            .Where(x => x.Scale != 1.0)
            .GroupBy(x => x.Scale))
        {
            optimizer.SetLearningRateScale(group.Select(x => precision.Parameters[x.Index]), group.Key);
        }

        Optimizer?.Dispose();
        Optimizer = optimizer;
        Loss = loss;
        metrics = compiled;
        CompileOptions = options;
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
        var source = new TensorBatchSource(x, y, options.BatchSize, options.Shuffle, options.Seed);
        if (options.ValidationData is not null || options.ValidationSplit == 0)
        {
            return Fit(source, options with { ValidationSplit = 0 });
        }

        var (train, held) = source.SplitLast(options.ValidationSplit, options.BatchSize);
        try
        {
            return Fit(train, options with { ValidationData = held, ValidationSplit = 0 });
        }
        finally
        {
            // The split's views of x and y belong to this call.
            foreach (var view in new[] { train.X, train.Y, held.X, held.Y })
            {
                view?.Dispose();
            }
        }
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

        if (train.Count == 0 || train.BatchesPerEpoch == 0)
        {
            throw new ArgumentException("The training dataset is empty (0 samples).", nameof(train));
        }

        var context = new TrainingContext(this)
        {
            Epochs = options.Epochs,
            InitialEpoch = options.InitialEpoch,
            StepsPerEpoch = options.StepsPerEpoch is { } limit ? Math.Min(limit, train.BatchesPerEpoch ?? limit) : train.BatchesPerEpoch,
            Verbose = options.Verbose,
            MetricNames = MetricNames(),
            Options = options,
            TrainData = train,
        };
        var history = new HistoryCallback();
        var callbacks = new CallbackList(Assemble(options.Verbose, options.Output, options.Callbacks, history), context);

        callbacks.TrainBegin(NoLogs);
        IReadOnlyDictionary<string, double> lastLogs = NoLogs;
        bool targetsChecked = false;
        for (int epoch = context.InitialEpoch; epoch < options.Epochs && !context.StopTraining; epoch++)
        {
            context.Epoch = epoch;
            callbacks.EpochBegin(epoch, NoLogs);
            var watch = Stopwatch.StartNew();
            var logs = TrainEpoch(train, epoch, options, context, callbacks, ref targetsChecked);
            if (options.ValidationData is { } validation)
            {
                foreach (var (name, value) in RunEvaluation(validation, callbacks, context))
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

    /// <summary>Evaluates on in-memory tensors; returns the loss and metrics.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(Tensor x, Tensor y, int batchSize = 32, int verbose = 1, TextWriter? output = null) =>
        Evaluate(new TensorBatchSource(x, y, batchSize), verbose, null, output);

    /// <summary>Evaluates on a batch source (eval mode, no gradients); returns the loss and metrics over all samples.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(IBatchSource data, int verbose = 1, IEnumerable<Callback>? callbacks = null, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        RequireCompiled();
        var context = new TrainingContext(this) { Verbose = verbose, MetricNames = MetricNames() };
        var list = new CallbackList(Assemble(verbose, output, callbacks ?? Enumerable.Empty<Callback>(), null), context);
        return RunEvaluation(data, list, context);
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
                var output = precision!.ConvertOutput(Module.call(precision.ConvertInput(current.X))).cpu();
                outputs.Add(output.MoveToOuterDisposeScope());
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

    /// <summary>Copies of the model's weights in their variable dtype (float32 masters under mixed policies), by name.</summary>
    public Dictionary<string, Tensor> GetWeights()
    {
        RequireCompiled();
        using var scope = NewDisposeScope();
        return precision!.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
    }

    /// <summary>Loads weights by name (from any policy's run).</summary>
    /// <exception cref="ArgumentException">Missing, unexpected or mis-shaped entries, all listed.</exception>
    public void SetWeights(IReadOnlyDictionary<string, Tensor> weights)
    {
        RequireCompiled();
        precision!.LoadStateDict(weights);
    }

    /// <summary>
    /// Writes a full checkpoint atomically: float32 weights, optimizer state, loss-scale state, the epoch and the RNG
    /// state, as one safetensors file with MixFit metadata.
    /// </summary>
    public void SaveCheckpoint(string path, int epoch)
    {
        RequireCompiled();
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, value) in precision!.StateDict())
        {
            tensors["model." + name] = value;
        }

        foreach (var (name, value) in Optimizer!.StateDict())
        {
            tensors["optimizer." + name] = value;
        }

        tensors["rng.cpu"] = get_rng_state();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = CheckpointFormat,
            ["version"] = "1",
            ["epoch"] = epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["policy"] = precision.Policy.Name,
            ["optimizer"] = Optimizer.GetType().Name,
            ["optimizer.scalars"] = JsonSerializer.Serialize(Optimizer.GetScalars()),
        };
        if (precision.Scaler.IsEnabled)
        {
            metadata["loss_scaler"] = JsonSerializer.Serialize(precision.Scaler.GetState());
        }

        SafeTensors.Save(path, tensors, metadata);
    }

    /// <summary>Restores a checkpoint written by <see cref="SaveCheckpoint"/> into this compiled trainer.</summary>
    /// <exception cref="InvalidDataException">Not a MixFit checkpoint, or the model or optimizer does not match (every mismatch listed).</exception>
    /// <exception cref="InvalidOperationException">Loss scaling is enabled but the checkpoint has no loss-scale state.</exception>
    public CheckpointInfo LoadCheckpoint(string path)
    {
        RequireCompiled();
        var (tensors, metadata) = SafeTensors.Load(path);
        try
        {
            if (!metadata.TryGetValue("format", out var format) || format != CheckpointFormat)
            {
                throw new InvalidDataException($"{path}: not a MixFit checkpoint (metadata format is \"{format}\", expected \"{CheckpointFormat}\").");
            }

            Dictionary<string, Tensor> Part(string prefix) =>
                tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);

            Rethrow(path, "model weights", () => precision!.LoadStateDict(Part("model.")));
            Rethrow(path, "optimizer state", () => Optimizer!.LoadStateDict(Part("optimizer.")));
            if (metadata.TryGetValue("optimizer.scalars", out var scalars))
            {
                Optimizer!.SetScalars(JsonSerializer.Deserialize<Dictionary<string, double>>(scalars)!);
            }

            var scaler = metadata.TryGetValue("loss_scaler", out var json) ? JsonSerializer.Deserialize<LossScalerState>(json) : null;
            precision!.Scaler.LoadState(scaler);
            if (tensors.TryGetValue("rng.cpu", out var rng))
            {
                set_rng_state(rng);
            }

            int epoch = int.Parse(metadata["epoch"], System.Globalization.CultureInfo.InvariantCulture);
            return new CheckpointInfo(epoch, metadata.GetValueOrDefault("policy", "float32"), scaler);
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>
    /// Writes the float32 weights only: safetensors when the name ends in <c>.safetensors</c>, otherwise TorchSharp's
    /// own format (readable by <c>Module.load</c>). Atomic.
    /// </summary>
    public void SaveWeights(string path)
    {
        RequireCompiled();
        using var scope = NewDisposeScope();
        var weights = precision!.StateDict();
        if (IsSafeTensors(path))
        {
            SafeTensors.Save(path, weights);
            return;
        }

        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            writer.Write7BitEncodedInt64(weights.Count);
            foreach (var (name, value) in weights)
            {
                writer.Write(name);
                value.detach().cpu().Save(writer);
            }
        });
    }

    /// <summary>Loads weights written by <see cref="SaveWeights"/>, <c>Module.save</c> or any safetensors file with matching names.</summary>
    /// <exception cref="ArgumentException">Missing, unexpected or mis-shaped entries, all listed.</exception>
    public void LoadWeights(string path)
    {
        RequireCompiled();
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            if (IsSafeTensors(path))
            {
                weights = SafeTensors.Load(path).Tensors;
            }
            else
            {
                using var reader = new BinaryReader(File.OpenRead(path));
                long count = reader.Read7BitEncodedInt64();
                for (long i = 0; i < count; i++)
                {
                    string name = reader.ReadString();
                    weights[name] = TensorExtensionMethods.Load(reader).DetachFromDisposeScope();
                }
            }

            Rethrow(path, "weights", () => precision!.LoadStateDict(weights));
        }
        finally
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>Releases the optimizer state and the precision strategy (not the model).</summary>
    public void Dispose()
    {
        Optimizer?.Dispose();
        precision?.Dispose();
    }

    private static double ScaleFor(string parameter, IReadOnlyDictionary<string, double> scales) =>
        scales.Where(kv => parameter == kv.Key || parameter.StartsWith(kv.Key + ".", StringComparison.Ordinal))
            .OrderByDescending(kv => kv.Key.Length)
            .Select(kv => kv.Value)
            .DefaultIfEmpty(1.0)
            .First();

    private static bool IsSafeTensors(string path) => path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);

    private static void Rethrow(string path, string what, Action load)
    {
        try
        {
            load();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: the {what} do not fit this model. {e.Message}", e);
        }
    }

    private static IEnumerable<Callback> Assemble(int verbose, TextWriter? output, IEnumerable<Callback> user, HistoryCallback? history)
    {
        // Keras' order: the progress logger first (its epoch line precedes other callbacks' messages), the history last.
        if (verbose > 0)
        {
            yield return new ProgbarLogger(output);
        }

        foreach (var callback in user)
        {
            yield return callback;
        }

        if (history is not null)
        {
            yield return history;
        }
    }

    private static InvalidOperationException NotCompiled() => new("Call Compile() before training, evaluating, predicting or saving.");

    private IReadOnlyList<string> MetricNames() => new[] { "loss" }.Concat(metrics.Select(m => m.Name)).ToArray();

    private void RequireCompiled()
    {
        if (precision is null || Optimizer is null || Loss is null)
        {
            throw NotCompiled();
        }
    }

    private Dictionary<string, double> TrainEpoch(
        IBatchSource train, int epoch, FitOptions options, TrainingContext context, CallbackList callbacks, ref bool targetsChecked)
    {
        Module.train();
        ResetMetrics(metrics);
        var logs = new Dictionary<string, double>();
        int accumulated = 0;
        int step = 0;
        var batches = train.ScopedBatches(epoch);
        foreach (var batch in context.StepsPerEpoch is { } limit ? batches.Take(limit) : batches)
        {
            callbacks.TrainBatchBegin(step, NoLogs);
            var watch = Stopwatch.StartNew();
            var target = (batch.Y ?? throw new ArgumentException("Training batches need targets (Batch.Y is null).")).to(precision!.Device);
            var output = precision.ConvertOutput(Module.call(precision.ConvertInput(batch.X)));
            if (!targetsChecked)
            {
                Loss!.Validate(output, target);
                targetsChecked = true;
            }

            var loss = Loss!.Compute(output, target);
            precision.Backward(options.GradientAccumulation > 1 ? loss / options.GradientAccumulation : loss);
            bool boundary = ++accumulated == options.GradientAccumulation || step + 1 == context.StepsPerEpoch;
            if (boundary)
            {
                precision.Step(Optimizer!, options.Clipping);
                accumulated = 0;
            }

            ReadBatchResults(loss, output, target, logs, training: true);
            logs["ms_per_step"] = watch.Elapsed.TotalMilliseconds;
            callbacks.TrainBatchEnd(step, new Dictionary<string, double>(logs));
            step++;
            if (context.StopTraining)
            {
                break;
            }
        }

        if (step == 0)
        {
            throw new ArgumentException($"The training dataset produced no batches in epoch {epoch}.", nameof(train));
        }

        if (accumulated > 0)
        {
            // The epoch ended inside an accumulation group: apply what was accumulated.
            using var scope = NewDisposeScope();
            precision!.Step(Optimizer!, options.Clipping);
        }

        return new Dictionary<string, double>(logs.Where(kv => kv.Key != "ms_per_step"));
    }

    /// <summary>
    /// Brings the batch's loss and metric totals (and, when <paramref name="training"/>, the loss scale and skipped
    /// count) to the host in one transfer.
    /// </summary>
    private void ReadBatchResults(Tensor loss, Tensor output, Tensor target, Dictionary<string, double> logs, bool training)
    {
        using var _ = no_grad();
        float n = output.shape[0];
        var parts = new List<Tensor> { stack(new[] { loss.detach() * n, full(Array.Empty<long>(), n, ScalarType.Float32, loss.device) }) };
        var detached = output.detach();
        parts.AddRange(metrics.Select(m => m.BatchTotals(detached, target)));
        var scaler = precision!.Scaler;
        bool scaled = training && scaler.IsEnabled && scaler.ScaleTensor is not null;
        if (scaled)
        {
            parts.Add(stack(new[] { scaler.ScaleTensor!, scaler.SkippedStepsTensor! }).to(loss.device));
        }

        var values = cat(parts, 0).to(ScalarType.Float64).cpu().data<double>().ToArray();
        lossTotal += values[0];
        lossCount += values[1];
        logs["loss"] = lossTotal / lossCount;
        for (int i = 0; i < metrics.Count; i++)
        {
            metrics[i].Accumulate(values[2 + (2 * i)], values[3 + (2 * i)]);
            logs[metrics[i].Name] = metrics[i].Result();
        }

        if (training)
        {
            logs["lr"] = Optimizer!.LearningRate;
        }

        if (scaled)
        {
            logs["loss_scale"] = values[^2];
            logs["skipped_steps"] = values[^1];
        }
    }

    private Dictionary<string, double> RunEvaluation(IBatchSource data, CallbackList callbacks, TrainingContext context)
    {
        var saved = (metrics, lossTotal, lossCount);
        metrics = metrics.Select(m => Metric.FromName(m.Name, Loss!)).ToList();
        try
        {
            context.TestSteps = data.BatchesPerEpoch;
            ResetMetrics(metrics);
            Module.eval();
            var logs = new Dictionary<string, double>();
            callbacks.TestBegin(NoLogs);
            int batch = 0;
            using (no_grad())
            {
                foreach (var current in data.ScopedBatches(0))
                {
                    callbacks.TestBatchBegin(batch, NoLogs);
                    var target = (current.Y ?? throw new ArgumentException("Evaluation batches need targets (Batch.Y is null).")).to(precision!.Device);
                    var output = precision.ConvertOutput(Module.call(precision.ConvertInput(current.X)));
                    if (batch == 0)
                    {
                        Loss!.Validate(output, target);
                    }

                    ReadBatchResults(Loss!.Compute(output, target), output, target, logs, training: false);
                    callbacks.TestBatchEnd(batch++, new Dictionary<string, double>(logs));
                }
            }

            if (batch == 0)
            {
                throw new ArgumentException("The evaluation dataset is empty (0 samples).", nameof(data));
            }

            callbacks.TestEnd(logs);
            return logs;
        }
        finally
        {
            (metrics, lossTotal, lossCount) = saved;
        }
    }

    private void ResetMetrics(List<Metric> list)
    {
        lossTotal = lossCount = 0;
        foreach (var metric in list)
        {
            metric.Reset();
        }
    }
}
