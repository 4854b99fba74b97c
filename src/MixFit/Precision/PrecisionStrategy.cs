using MixFit.Checkpoints;
using MixFit.Data;
using MixFit.Kernels;
using MixFit.Native;
using MixFit.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>
/// Precision as one object a training loop calls at a few fixed points, whatever the policy: prepare the model,
/// convert the input, convert the output, backward, and step-or-skip with the scale update. Its loss scaler and
/// kernels are private to it: a loop reads the per-step logs (<see cref="StepLogs"/>), builds optimizers over
/// <see cref="ParameterGroups"/> and checkpoints <see cref="GetState"/>, and never touches the scaler itself.
/// </summary>
/// <remarks>
/// <para>This base class is the single-dtype strategy: <c>float32</c> (a no-op), <c>float64</c>, and pure
/// <c>float16</c>/<c>bfloat16</c>, which convert the whole model (no master weights: fast and fragile).
/// <see cref="Create(DTypePolicy?, PrecisionOptions?)"/> returns a <see cref="MixedPrecisionStrategy"/> for the mixed policies.</para>
/// <para>A complete loop (also usable with your own model, loss and data):</para>
/// <code>
/// using var precision = PrecisionStrategy.Create("mixed_float16");
/// var parameters = precision.Prepare(model);          // convert the model; returns what the optimizer must update
/// using var optimizer = new AdamW(parameters);        // build optimizers AFTER Prepare
/// foreach (var (x, y) in batches)
/// {
///     using var scope = torch.NewDisposeScope();
///     var logits = precision.ConvertOutput(model.call(precision.ConvertInput(x)));   // float32 logits
///     var loss = functional.cross_entropy(logits, y);                               // float32 loss
///     precision.Backward(loss);                                                     // scaled backward
///     StepOutcome outcome = precision.Step(optimizer);                              // unscale, check, step or skip, update, clear gradients
/// }
/// </code>
/// <para>Gradient accumulation: call <see cref="Backward(Tensor)"/> for every micro-batch and <see cref="Step(Optimizer, GradientClipping?)"/>
/// at the boundary only. The strategy alone clears gradients: <see cref="Step(Optimizer, GradientClipping?)"/> consumes them.</para>
/// <para>Cost: nothing here synchronises with the device under the fused kernels except <see cref="GetLossScale"/>
/// and <see cref="GetState"/>. Every member but <see cref="Create(DTypePolicy?, PrecisionOptions?)"/>,
/// <see cref="Policy"/>, <see cref="Options"/>, <see cref="LossScaleMode"/> and <see cref="Model"/> needs
/// <see cref="Prepare"/> first and says so otherwise.</para>
/// </remarks>
public class PrecisionStrategy : IDisposable
{
    private readonly List<Action> hookRemovers = new();
    private readonly OptimizerScalers ownScalers = new();
    private IReadOnlyDictionary<string, DTypePolicy> modulePolicies = new Dictionary<string, DTypePolicy>();
    private IReadOnlyList<Parameter> parameters = Array.Empty<Parameter>();
    private IReadOnlyList<string> parameterNames = Array.Empty<string>();
    private Parameter[] modelParameters = Array.Empty<Parameter>();
    private Device device = CPU;

    /// <summary>Creates a strategy for <paramref name="policy"/>; use <see cref="Create(DTypePolicy?, PrecisionOptions?)"/>.</summary>
    private protected PrecisionStrategy(DTypePolicy policy, PrecisionOptions? options)
    {
        Policy = policy ?? throw new ArgumentNullException(nameof(policy));
        Options = options ?? new PrecisionOptions();
        Kernels = AmpKernels.Select(Options.Kernels);
        Scaler = new LossScaler(Options.LossScale ?? LossScaleOptions.DefaultFor(policy), Kernels)
        {
            // Pure float16 has no float32 masters: its gradients are float16 by design.
            AllowHalfGradients = policy.VariableDType == ScalarType.Float16,
        };
    }

    private long iterations;

    /// <summary>The policy this strategy implements.</summary>
    public DTypePolicy Policy { get; }

    /// <summary>The options it was created with.</summary>
    public PrecisionOptions Options { get; }

    /// <summary>How the loss is scaled (<see cref="LossScaleMode.None"/> unless the options or the policy enable scaling).</summary>
    public LossScaleMode LossScaleMode => Scaler.Mode;

    /// <summary>The prepared model, or null before <see cref="Prepare"/>.</summary>
    public nn.Module? Model { get; private set; }

    /// <summary>The device the model was placed on by <see cref="Prepare"/>.</summary>
    public Device Device => Prepared(device);

    /// <summary>The trainable parameters an optimizer must update (float32 masters under a mixed policy).</summary>
    public IReadOnlyList<Parameter> Parameters => Prepared(parameters);

    /// <summary>The model's name for each of <see cref="Parameters"/> (e.g. <c>base.layer4.0.conv1.weight</c>), in the same order.</summary>
    public IReadOnlyList<string> ParameterNames => Prepared(parameterNames);

    /// <summary>The policy resolved for every module path ("" is the root).</summary>
    public IReadOnlyDictionary<string, DTypePolicy> ModulePolicies => Prepared(modulePolicies);

    /// <summary>The dtype <see cref="ConvertOutput"/> produces: float64 under <c>float64</c>, float32 otherwise.</summary>
    public ScalarType OutputDType => Policy.ComputeDType == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    /// <summary>The loss scaler (its state reaches checkpoints through <see cref="GetState"/>).</summary>
    internal LossScaler Scaler { get; }

    /// <summary>The kernels used for scaling, master-weight bookkeeping and clipping.</summary>
    internal AmpKernels Kernels { get; }

    /// <summary>Creates the strategy for a policy (default: <see cref="DTypePolicy.Global"/>).</summary>
    public static PrecisionStrategy Create(DTypePolicy? policy = null, PrecisionOptions? options = null)
    {
        var resolved = policy ?? DTypePolicy.Global;
        return resolved.IsMixed ? new MixedPrecisionStrategy(resolved, options) : new PrecisionStrategy(resolved, options);
    }

    /// <summary>Creates the strategy for a policy name.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static PrecisionStrategy Create(string policyName, PrecisionOptions? options = null) =>
        Create(DTypePolicy.Parse(policyName), options);

    /// <summary>
    /// Moves <paramref name="model"/> to <paramref name="device"/> (default: CUDA when available, else CPU) and converts it
    /// to the policy. Returns the parameters optimizers must be built over. Call once, before creating optimizers.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already prepared.</exception>
    /// <exception cref="ArgumentException">An override names a module the model does not have.</exception>
    public IReadOnlyList<Parameter> Prepare(nn.Module model, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (Model is not null)
        {
            throw new InvalidOperationException("This strategy already prepared a model; create one strategy per model.");
        }

        TorchRuntime.EnsureLoaded();
        this.device = device ?? TorchRuntime.DefaultDevice;
        model.to(this.device);
        var applied = PolicyApplier.Apply(model, Policy, Options.ModuleOverrides, this.device.type);
        modulePolicies = applied.ModulePolicies;
        hookRemovers.AddRange(applied.HookRemovers);
        Model = model;
        modelParameters = model.parameters().ToArray();
        (parameters, parameterNames) = OnPrepared(model, applied.TakeOriginals());
        return parameters;
    }

    /// <summary>
    /// Re-reads which parameters are trainable (after freezing or unfreezing layers) and returns the parameters an
    /// optimizer must now update. Build a new optimizer over them.
    /// </summary>
    public IReadOnlyList<Parameter> RefreshTrainable()
    {
        RequirePrepared();
        (parameters, parameterNames) = OnTrainableChanged(Model!);
        return parameters;
    }

    /// <summary>
    /// The trainable parameters grouped by learning-rate multiplier, for building an optimizer: a parameter takes the
    /// scale of the longest module-path prefix in <paramref name="learningRateScales"/> that names it (e.g.
    /// <c>{ ["base"] = 0.1 }</c>), 1 otherwise. Groups come in order of first appearance.
    /// </summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups(IReadOnlyDictionary<string, double>? learningRateScales = null)
    {
        RequirePrepared();
        var scales = learningRateScales ?? new Dictionary<string, double>();
        return Enumerable.Range(0, parameters.Count)
            .GroupBy(i => ScaleFor(parameterNames[i], scales))
            .Select(g => new ParameterGroup(g.Select(i => parameters[i]).ToArray(), g.Select(i => parameterNames[i]).ToArray(), g.Key))
            .ToArray();
    }

    /// <summary>
    /// The trainable parameters (float32 masters under a mixed policy) of the module at <paramref name="modulePath"/>
    /// (e.g. <c>generator</c>; "" is the whole model), in model order: what a second optimizer of a custom step is built over.
    /// </summary>
    /// <exception cref="ArgumentException">No trainable parameter lies under that path (the top-level modules are listed).</exception>
    public IReadOnlyList<Parameter> ParametersUnder(string modulePath)
    {
        ArgumentNullException.ThrowIfNull(modulePath);
        RequirePrepared();
        var found = Enumerable.Range(0, parameters.Count)
            .Where(i => modulePath.Length == 0 || parameterNames[i] == modulePath || parameterNames[i].StartsWith(modulePath + ".", StringComparison.Ordinal))
            .Select(i => parameters[i])
            .ToArray();
        return found.Length > 0 ? found : throw new ArgumentException(
            $"No trainable parameter lies under \"{modulePath}\"; the model's top-level modules with trainable parameters are: {string.Join(", ", parameterNames.Select(n => n.Split('.')[0]).Distinct())}.", nameof(modulePath));
    }

    /// <summary>
    /// Casts a floating input to the compute dtype and moves any input to the device. Integer tensors (labels, ids)
    /// keep their dtype.
    /// </summary>
    /// <exception cref="ArgumentException">A float64 input under a lower-precision policy (never down-cast silently).</exception>
    public Tensor ConvertInput(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        RequirePrepared();
        if (!input.is_floating_point())
        {
            return DeviceCopy.To(input, device);
        }

        if (input.dtype == ScalarType.Float64 && Policy.ComputeDType != ScalarType.Float64)
        {
            throw new ArgumentException(
                $"The input is float64 but policy \"{Policy.Name}\" computes in {Policy.ComputeDType}; MixFit does not silently down-cast "
                + "float64. Convert it explicitly (x.to(ScalarType.Float32)) or use the float64 policy.", nameof(input));
        }

        return DeviceCopy.To(input, device, Policy.ComputeDType);
    }

    /// <summary>Casts a floating model output to <see cref="OutputDType"/> so losses and metrics compute in float32.</summary>
    public Tensor ConvertOutput(Tensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        RequirePrepared();
        return !output.is_floating_point() || output.dtype == OutputDType ? output : output.to(OutputDType);
    }

    /// <summary>Backpropagates the loss multiplied by the loss scale (in float32). Call once per micro-batch.</summary>
    /// <exception cref="InvalidOperationException">The gradients since the last step were scaled by another optimizer's scaler (<see cref="AddLossScaler"/>).</exception>
    public void Backward(Tensor loss) => Backward(loss, null);

    /// <summary>
    /// Backpropagates <paramref name="loss"/> multiplied by the loss scale of <paramref name="optimizer"/> (its own,
    /// when <see cref="AddLossScaler"/> gave it one; the strategy's otherwise), for a step that has several optimizers
    /// (a GAN's generator and discriminator). Then <see cref="Step(Optimizer, GradientClipping?)"/> that optimizer.
    /// </summary>
    /// <exception cref="InvalidOperationException">The gradients since the last step were scaled by another scaler: step first.</exception>
    public void Backward(Tensor loss, Optimizer? optimizer)
    {
        ArgumentNullException.ThrowIfNull(loss);
        RequirePrepared();
        var scaler = ownScalers.Begin(optimizer, Scaler);
        scaler.Scale(loss).backward();
        AfterBackward();
    }

    /// <summary>
    /// The loss multiplied by the loss scale of <paramref name="optimizer"/> (as <see cref="Backward(Tensor, Optimizer?)"/>
    /// picks it), in float32, without backpropagating: for <c>autograd.grad</c> through the scaled graph (a gradient
    /// penalty), whose results <see cref="Unscale"/> divides back. No sync.
    /// </summary>
    public Tensor ScaleLoss(Tensor loss, Optimizer? optimizer = null)
    {
        ArgumentNullException.ThrowIfNull(loss);
        RequirePrepared();
        return ownScalers.ScalerFor(optimizer, Scaler).Scale(loss);
    }

    /// <summary>
    /// <paramref name="scaled"/> divided by the loss scale of <paramref name="optimizer"/>: gradients taken from a
    /// <see cref="ScaleLoss"/> result with <c>autograd.grad</c>, back in true units (still inf/NaN after an overflow,
    /// which the next <see cref="Step(Optimizer, GradientClipping?)"/> then skips). Differentiable; no sync. Without loss
    /// scaling it returns <paramref name="scaled"/>.
    /// </summary>
    public Tensor Unscale(Tensor scaled, Optimizer? optimizer = null)
    {
        ArgumentNullException.ThrowIfNull(scaled);
        RequirePrepared();
        return ownScalers.ScalerFor(optimizer, Scaler).Unscaled(scaled);
    }

    /// <summary>
    /// Gives <paramref name="optimizer"/> its own loss scaler, named <paramref name="name"/> (Keras: every
    /// <c>LossScaleOptimizer</c> has its own scale): a GAN's discriminator and generator losses differ by orders of
    /// magnitude, so one's overflow must not halve the other's scale. Same options as the strategy's scaler. Its scale
    /// and skipped steps are logged as <c>{name}_loss_scale</c> and <c>{name}_skipped_steps</c>, and checkpointed by name.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not lower-case letters, digits and '_', or is taken, or the optimizer already has one.</exception>
    public void AddLossScaler(string name, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        RequirePrepared();
        ownScalers.Add(name, optimizer, () => new LossScaler(Scaler.Options, Kernels) { AllowHalfGradients = Scaler.AllowHalfGradients });
    }

    /// <summary>
    /// Ends an iteration for one optimizer: unscale the gradients once, clip the unscaled gradients, check them for
    /// inf/NaN, step or skip, update the loss scale, clear the gradients.
    /// </summary>
    /// <exception cref="InvalidOperationException">The gradients were scaled by another optimizer's scaler.</exception>
    public StepOutcome Step(Optimizer optimizer, GradientClipping? clipping = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return Step(new[] { optimizer }, clipping)[0];
    }

    /// <summary>
    /// Ends an iteration for several optimizers (e.g. a base and a head): each is unscaled, clipped and stepped or
    /// skipped; the scale is updated once; the gradients are cleared.
    /// </summary>
    /// <exception cref="InvalidOperationException">The optimizers do not share one scaler, or the gradients were scaled by another.</exception>
    public IReadOnlyList<StepOutcome> Step(IReadOnlyList<Optimizer> optimizers, GradientClipping? clipping = null)
    {
        ArgumentNullException.ThrowIfNull(optimizers);
        RequirePrepared();
        var scaler = ownScalers.End(optimizers, Scaler);

        // Data parallel: average the (still scaled) gradients first, so every rank unscales, checks and steps alike.
        DataParallel?.ReduceGradients(optimizers);
        var outcomes = scaler.Apply(optimizers, clipping);
        iterations++;
        AfterStep();
        ZeroGrad();
        return outcomes;
    }

    /// <summary>The data-parallel job whose ranks average gradients in <see cref="Step(IReadOnlyList{Optimizer}, GradientClipping?)"/>; set by <c>Fit</c> for its duration.</summary>
    internal MixFit.Distributed.DataParallel? DataParallel { get; set; }

    /// <summary>Clears every gradient of the model (and of the master weights). <see cref="Step(Optimizer, GradientClipping?)"/> calls it.</summary>
    public virtual void ZeroGrad()
    {
        RequirePrepared();
        foreach (var p in modelParameters)
        {
            p.grad = null;
        }
    }

    /// <summary>
    /// What a training loop logs per step, as 0-dim float32 device tensors read without a sync: <c>loss_scale</c> and
    /// <c>skipped_steps</c> once the loss has been scaled; empty without loss scaling.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StepLogs()
    {
        RequirePrepared();
        var logs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, scaler) in ownScalers.Own.Prepend(("", Scaler)))
        {
            if (scaler.IsEnabled && scaler.ScaleTensor is { } scale && scaler.SkippedStepsTensor is { } skipped)
            {
                logs[name.Length == 0 ? "loss_scale" : name + "_loss_scale"] = scale;
                logs[name.Length == 0 ? "skipped_steps" : name + "_skipped_steps"] = skipped;
            }
        }

        return logs;
    }

    /// <summary>The current loss scale (1 without loss scaling). Synchronises.</summary>
    public double GetLossScale()
    {
        RequirePrepared();
        return Scaler.GetScale();
    }

    /// <summary>The state a checkpoint must carry besides the weights (the policy and the loss scalers' state). Synchronises.</summary>
    public PrecisionState GetState()
    {
        RequirePrepared();
        var own = ownScalers.Own.Where(n => n.Scaler.IsEnabled).ToDictionary(n => n.Name, n => n.Scaler.GetState(), StringComparer.Ordinal);
        return new PrecisionState(Policy.Name, Scaler.IsEnabled ? Scaler.GetState() : null) { OptimizerScalers = own.Count == 0 ? null : own, Iterations = iterations };
    }

    /// <summary>
    /// Training iterations completed (Keras' <c>optimizer.iterations</c>): one per call of
    /// <see cref="Step(IReadOnlyList{Optimizer}, GradientClipping?)"/> (a step over several optimizers at once counts
    /// once; a custom step that steps two optimizers separately counts two), skipped steps included, whichever loss
    /// scaler the optimizers have, with or without loss scaling; checkpointed and restored in both directions.
    /// Host-side, no sync.
    /// </summary>
    public long Iterations => iterations;

    /// <summary>
    /// Restores state saved by <see cref="GetState"/> (or null, for a checkpoint that had none). State without loss
    /// scaling starts an enabled scaler at its initial scale (tf-keras). A failed load changes nothing.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The saved scale is not a positive finite float32.</exception>
    public void LoadState(PrecisionState? state)
    {
        CheckState(state);
        Scaler.LoadState(state?.LossScaler);
        // Kept whether or not either side scaled its loss (a scaled save restored unscaled, and the other way round);
        // state saved before the count was recorded has the shared loss scaler's count, or none.
        iterations = state?.Iterations ?? state?.LossScaler?.Iterations ?? 0;

        foreach (var (name, scaler) in ownScalers.Own)
        {
            scaler.LoadState(state?.OptimizerScalers?.GetValueOrDefault(name));
        }
    }

    /// <summary>Checks state for <see cref="LoadState"/> without applying it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The saved scale is not a positive finite float32.</exception>
    /// <exception cref="ArgumentException">The state holds a named loss scaler this strategy does not have (<see cref="AddLossScaler"/> it before loading).</exception>
    public void CheckState(PrecisionState? state)
    {
        RequirePrepared();
        Scaler.Validate(state?.LossScaler);
        if (state?.Iterations is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(state), state.Iterations, "The saved iteration count must not be negative.");
        }

        var own = ownScalers.Own.ToDictionary(n => n.Name, n => n.Scaler, StringComparer.Ordinal);
        foreach (var (name, saved) in state?.OptimizerScalers ?? new Dictionary<string, LossScalerState>())
        {
            if (!own.TryGetValue(name, out var scaler))
            {
                throw new ArgumentException(
                    $"The saved precision state has a loss scaler named \"{name}\" that this strategy lacks (it has: {(own.Count == 0 ? "none" : string.Join(", ", own.Keys))}); call AddLossScaler(\"{name}\", optimizer) before loading.", nameof(state));
            }

            scaler.Validate(saved);
        }
    }

    /// <summary>
    /// The model's weights and buffers in their variable dtype (float32 masters under a mixed policy), by
    /// <c>state_dict</c> name: checkpoints are interchangeable between float32 and mixed runs.
    /// </summary>
    public virtual Dictionary<string, Tensor> StateDict()
    {
        RequirePrepared();
        return Model!.state_dict();
    }

    /// <summary>Loads weights saved by <see cref="StateDict"/> (from a run under any policy), converting dtypes.</summary>
    /// <exception cref="ArgumentException">Keys are missing or unexpected, or shapes differ; the message lists every one.</exception>
    public virtual void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        RequirePrepared();
        CopyState(Model!.state_dict(), state);
    }

    /// <summary>Removes input-cast hooks and releases the scaler's tensors (not the model).</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources when <paramref name="disposing"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var remove in hookRemovers)
            {
                remove();
            }

            hookRemovers.Clear();
            Scaler.Dispose();
            ownScalers.Dispose();
        }
    }

    /// <summary>
    /// Called once by <see cref="Prepare"/> after conversion with the exact pre-conversion values of every parameter
    /// whose dtype changed, which it owns from then on (this base disposes them: a single-dtype strategy keeps no
    /// masters). Returns the parameters optimizers update and their names.
    /// </summary>
    private protected virtual (IReadOnlyList<Parameter> Parameters, IReadOnlyList<string> Names) OnPrepared(
        nn.Module model, IReadOnlyDictionary<string, Tensor> originals)
    {
        foreach (var original in originals.Values)
        {
            original.Dispose();
        }

        return OnTrainableChanged(model);
    }

    /// <summary>Called by <see cref="RefreshTrainable"/>: the trainable parameters and their names, in model order.</summary>
    private protected virtual (IReadOnlyList<Parameter> Parameters, IReadOnlyList<string> Names) OnTrainableChanged(nn.Module model)
    {
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        return (trainable.Select(p => p.parameter).ToArray(), trainable.Select(p => p.name).ToArray());
    }

    /// <summary>Called after every backward pass (e.g. to move gradients onto master weights).</summary>
    private protected virtual void AfterBackward()
    {
    }

    /// <summary>Called after the optimizers stepped or skipped (e.g. to copy master weights into the model).</summary>
    private protected virtual void AfterStep()
    {
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="targets"/> by name after checking every key and shape.</summary>
    /// <exception cref="ArgumentException">Missing, unexpected or mis-shaped entries, all listed by name.</exception>
    private protected static void CopyState(IReadOnlyDictionary<string, Tensor> targets, IReadOnlyDictionary<string, Tensor> source) =>
        StateDictCheck.Copy("The state dict", targets, source);

    /// <summary>Throws unless <see cref="Prepare"/> ran.</summary>
    private protected void RequirePrepared()
    {
        if (Model is null)
        {
            throw new InvalidOperationException($"This {Policy.Name} precision strategy has no model yet: call Prepare(model) first.");
        }
    }

    private static double ScaleFor(string parameter, IReadOnlyDictionary<string, double> scales) =>
        scales.Where(kv => parameter == kv.Key || parameter.StartsWith(kv.Key + ".", StringComparison.Ordinal))
            .OrderByDescending(kv => kv.Key.Length)
            .Select(kv => kv.Value)
            .DefaultIfEmpty(1.0)
            .First();

    private T Prepared<T>(T value)
    {
        RequirePrepared();
        return value;
    }
}
