using MixFit.Checkpoints;
using MixFit.Kernels;
using MixFit.Native;
using MixFit.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>
/// Precision as a strategy a training loop calls at a few fixed points, whatever the policy: prepare the model,
/// convert the input, convert the output, backward, and step-or-skip with the scale update.
/// </summary>
/// <remarks>
/// <para>This base class is the single-dtype strategy: <c>float32</c> (a no-op), <c>float64</c>, and pure
/// <c>float16</c>/<c>bfloat16</c>, which convert the whole model (no master weights: fast and fragile).
/// <see cref="Create(DTypePolicy?, PrecisionOptions?)"/> returns a <see cref="MixedPrecisionStrategy"/> for the mixed policies.</para>
/// <para>A complete loop (also usable with your own model, loss and data):</para>
/// <code>
/// using var precision = PrecisionStrategy.Create("mixed_float16");
/// var parameters = precision.Prepare(model);          // convert the model; returns what the optimizer must update
/// using var optimizer = new FusedAdamW(parameters);        // build optimizers AFTER Prepare
/// foreach (var (x, y) in batches)
/// {
///     using var scope = torch.NewDisposeScope();
///     var logits = precision.ConvertOutput(model.call(precision.ConvertInput(x)));   // float32 logits
///     var loss = functional.cross_entropy(logits, y);                               // float32 loss
///     precision.Backward(loss);                                                     // scaled backward
///     StepOutcome outcome = precision.Step(optimizer);                              // unscale, check, step or skip, update
/// }
/// </code>
/// <para>Gradient accumulation: call <see cref="Backward"/> for every micro-batch and <see cref="Step(Optimizer, GradientClipping?)"/>
/// at the boundary only. <see cref="Step(Optimizer, GradientClipping?)"/> consumes the gradients (clears them).</para>
/// </remarks>
public class PrecisionStrategy : IDisposable
{
    private AppliedPolicy? applied;
    private IReadOnlyList<Parameter> parameters = Array.Empty<Parameter>();
    private Parameter[] modelParameters = Array.Empty<Parameter>();

    /// <summary>Creates a strategy for <paramref name="policy"/>; use <see cref="Create(DTypePolicy?, PrecisionOptions?)"/>.</summary>
    protected PrecisionStrategy(DTypePolicy policy, PrecisionOptions? options)
    {
        Policy = policy ?? throw new ArgumentNullException(nameof(policy));
        Options = options ?? new PrecisionOptions();
        Kernels = AmpKernels.Select(Options.Kernels);
        Scaler = new LossScaler(Options.LossScale ?? LossScaleOptions.DefaultFor(policy), Kernels);
    }

    /// <summary>The policy this strategy implements.</summary>
    public DTypePolicy Policy { get; }

    /// <summary>The options it was created with.</summary>
    public PrecisionOptions Options { get; }

    /// <summary>The kernels used for scaling, master-weight bookkeeping and clipping.</summary>
    public AmpKernels Kernels { get; }

    /// <summary>The loss scaler (a pass-through unless the options or policy enable scaling).</summary>
    public LossScaler Scaler { get; }

    /// <summary>The prepared model, or null before <see cref="Prepare"/>.</summary>
    public nn.Module? Model { get; private set; }

    /// <summary>The device the model was placed on by <see cref="Prepare"/>.</summary>
    public Device Device { get; private set; } = CPU;

    /// <summary>The trainable parameters an optimizer must update (float32 masters under a mixed policy).</summary>
    public IReadOnlyList<Parameter> Parameters => parameters;

    /// <summary>The model's name for each of <see cref="Parameters"/> (e.g. <c>base.layer4.0.conv1.weight</c>), in the same order.</summary>
    public IReadOnlyList<string> ParameterNames { get; private set; } = Array.Empty<string>();

    /// <summary>The policy resolved for every module path after <see cref="Prepare"/> ("" is the root).</summary>
    public IReadOnlyDictionary<string, DTypePolicy> ModulePolicies =>
        applied?.ModulePolicies ?? (IReadOnlyDictionary<string, DTypePolicy>)new Dictionary<string, DTypePolicy>();

    /// <summary>The dtype <see cref="ConvertOutput"/> produces: float64 under <c>float64</c>, float32 otherwise.</summary>
    public ScalarType OutputDType => Policy.ComputeDType == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;

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
        Device = device ?? TorchRuntime.DefaultDevice;
        model.to(Device);
        applied = PolicyApplier.Apply(model, Policy, Options.ModuleOverrides);
        Model = model;
        modelParameters = model.parameters().ToArray();
        (parameters, var names) = OnPrepared(model, applied.Originals);
        ParameterNames = names;
        applied.Dispose();
        return parameters;
    }

    /// <summary>
    /// Re-reads which parameters are trainable (after freezing or unfreezing layers) and returns the parameters an
    /// optimizer must now update. Build a new optimizer over them.
    /// </summary>
    public IReadOnlyList<Parameter> RefreshTrainable()
    {
        RequirePrepared();
        (parameters, var names) = OnTrainableChanged(Model!);
        ParameterNames = names;
        return parameters;
    }

    /// <summary>
    /// Casts a floating input to the compute dtype and moves any input to the device. Integer tensors (labels, ids)
    /// keep their dtype.
    /// </summary>
    /// <exception cref="ArgumentException">A float64 input under a lower-precision policy (never down-cast silently).</exception>
    public Tensor ConvertInput(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!input.is_floating_point())
        {
            return OnDevice(input) ? input : input.to(Device);
        }

        if (input.dtype == ScalarType.Float64 && Policy.ComputeDType != ScalarType.Float64)
        {
            throw new ArgumentException(
                $"The input is float64 but policy \"{Policy.Name}\" computes in {Policy.ComputeDType}; MixFit does not silently down-cast "
                + "float64. Convert it explicitly (x.to(ScalarType.Float32)) or use the float64 policy.", nameof(input));
        }

        return input.dtype == Policy.ComputeDType && OnDevice(input) ? input : input.to(Policy.ComputeDType, Device);
    }

    /// <summary>Casts a floating model output to <see cref="OutputDType"/> so losses and metrics compute in float32.</summary>
    public Tensor ConvertOutput(Tensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        return !output.is_floating_point() || output.dtype == OutputDType ? output : output.to(OutputDType);
    }

    /// <summary>Backpropagates the loss multiplied by the loss scale (in float32). Call once per micro-batch.</summary>
    public void Backward(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        RequirePrepared();
        Scaler.Scale(loss).backward();
        AfterBackward();
    }

    /// <summary>
    /// Ends an iteration for one optimizer: unscale the gradients once, clip the unscaled gradients, check them for
    /// inf/NaN, step or skip, update the loss scale, clear the gradients.
    /// </summary>
    public StepOutcome Step(Optimizer optimizer, GradientClipping? clipping = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return Step(new[] { optimizer }, clipping)[0];
    }

    /// <summary>
    /// Ends an iteration for several optimizers (e.g. a base and a head): each is unscaled, clipped and stepped or
    /// skipped; the scale is updated once.
    /// </summary>
    public IReadOnlyList<StepOutcome> Step(IReadOnlyList<Optimizer> optimizers, GradientClipping? clipping = null)
    {
        ArgumentNullException.ThrowIfNull(optimizers);
        RequirePrepared();
        foreach (var optimizer in optimizers)
        {
            Scaler.Unscale(optimizer);
            if (clipping is not null)
            {
                clipping.Apply(optimizer.Gradients(), Kernels);
            }
        }

        var outcomes = optimizers.Select(Scaler.Step).ToArray();
        Scaler.Update();
        AfterStep();
        ZeroGrad();
        return outcomes;
    }

    /// <summary>Clears every gradient of the model (and of the master weights).</summary>
    public virtual void ZeroGrad()
    {
        foreach (var p in modelParameters)
        {
            p.grad = null;
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
            foreach (var remove in applied?.HookRemovers ?? new List<Action>())
            {
                remove();
            }

            applied?.HookRemovers.Clear();
            Scaler.Dispose();
        }
    }

    /// <summary>
    /// Called once by <see cref="Prepare"/> after conversion with the exact pre-conversion values of every parameter
    /// whose dtype changed; returns the parameters optimizers update and their names. Take ownership of an original by removing it.
    /// </summary>
    protected virtual (IReadOnlyList<Parameter> Parameters, IReadOnlyList<string> Names) OnPrepared(nn.Module model, Dictionary<string, Tensor> originals) =>
        OnTrainableChanged(model);

    /// <summary>Called by <see cref="RefreshTrainable"/>: the trainable parameters and their names, in model order.</summary>
    protected virtual (IReadOnlyList<Parameter> Parameters, IReadOnlyList<string> Names) OnTrainableChanged(nn.Module model)
    {
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        return (trainable.Select(p => p.parameter).ToArray(), trainable.Select(p => p.name).ToArray());
    }

    /// <summary>Called after every backward pass (e.g. to move gradients onto master weights).</summary>
    protected virtual void AfterBackward()
    {
    }

    /// <summary>Called after the optimizers stepped or skipped (e.g. to copy master weights into the model).</summary>
    protected virtual void AfterStep()
    {
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="targets"/> by name after checking every key and shape.</summary>
    /// <exception cref="ArgumentException">Missing, unexpected or mis-shaped entries, all listed by name.</exception>
    protected static void CopyState(IReadOnlyDictionary<string, Tensor> targets, IReadOnlyDictionary<string, Tensor> source) =>
        StateDictCheck.Copy("The state dict", targets, source);

    // TorchSharp's Device has reference equality: compare type and index.
    private bool OnDevice(Tensor tensor) =>
        tensor.device_type == Device.type && (tensor.device_index == Device.index || Device.index < 0 && tensor.device_index <= 0);

    private void RequirePrepared()
    {
        if (Model is null)
        {
            throw new InvalidOperationException("Call Prepare(model) first.");
        }
    }
}
