using MixFit.Checkpoints;
using MixFit.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Optimizers;

/// <summary>
/// Base of MixFit's optimizers: updates a fixed list of parameters from their <c>.grad</c>, and skips the whole
/// update (parameters and state alike) when given a non-zero overflow flag.
/// </summary>
/// <remarks>
/// <para>Why not TorchSharp's optimizers: they run ~10 native calls per parameter and cannot skip a step without
/// reading the overflow flag on the host. Each MixFit optimizer owns two implementations of its algorithm: a
/// <em>fused</em> one (libtorch's multi-tensor kernels, one native call per parameter group: one per learning-rate scale, dtype and device, the overflow flag honoured on the
/// device: no host sync) and a <em>managed</em> one (per-tensor TorchSharp calls; reads the flag on the host, one
/// sync per step). Tests check that both give <c>torch.optim</c>'s results.</para>
/// <para>Build an optimizer after the model is prepared by a precision strategy: preparing converts the model and
/// creates new parameter objects. State tensors are created eagerly, outside any dispose scope. Optimizers never
/// clear gradients: under a <see cref="MixFit.Precision.PrecisionStrategy"/> its <c>Step</c> does.</para>
/// <para>Your own optimizer: subclass with the public-facing constructor, implement <see cref="ManagedStep"/> and
/// <see cref="StateDict"/> (and <see cref="FusedStep"/> if you pass <c>fused: true</c>), and give it to
/// <c>CompileOptions.OptimizerFactory</c>. Loss scaling, skipping on overflow, clipping, learning-rate scales and
/// checkpoints then work as for the built-ins (README, "Your own optimizer").</para>
/// </remarks>
public abstract class Optimizer : IDisposable
{
    private readonly List<Tensor> ownedState = new();
    private readonly double[] scales;
    private Tensor? noOverflow;
    private double learningRate;
    private bool disposed;

    /// <summary>
    /// Creates a user optimizer over <paramref name="parameters"/> (those without <c>requires_grad</c> are ignored):
    /// the base of an optimizer written in your own assembly. Override <see cref="ManagedStep"/> (required) and
    /// <see cref="StateDict"/>; create state with <see cref="NewState"/>. With <paramref name="fused"/> true, also
    /// override <see cref="FusedStep"/>, a step that honours the overflow flag on the device (no host read).
    /// </summary>
    /// <param name="parameters">The parameters to update (build the optimizer after a precision strategy's <c>Prepare</c>: its parameters are the float32 masters).</param>
    /// <param name="learningRate">The learning rate; positive.</param>
    /// <param name="fused">Whether steps run <see cref="FusedStep"/> (default false: <see cref="ManagedStep"/>, one host read of the overflow flag per step under loss scaling).</param>
    /// <exception cref="ArgumentException">No trainable parameters.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive or non-finite learning rate.</exception>
    protected Optimizer(IEnumerable<Parameter> parameters, double learningRate, bool fused = false)
        : this(parameters, learningRate)
    {
        IsFused = fused;
    }

    /// <summary>Creates a built-in optimizer whose fused implementation is <paramref name="fusedKernel"/>.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="learningRate">The learning rate; positive.</param>
    /// <param name="fused">null: the fused implementation where this libtorch compiles it; true: require it; false: the managed one.</param>
    /// <param name="fusedKernel">The subclass's fused implementation.</param>
    /// <exception cref="ArgumentException">No trainable parameters, or a non-positive learning rate.</exception>
    /// <exception cref="NotSupportedException"><paramref name="fused"/> is true and this libtorch cannot compile the fused kernel.</exception>
    private protected Optimizer(IEnumerable<Parameter> parameters, double learningRate, bool? fused, TorchScriptFunctions fusedKernel)
        : this(parameters, learningRate)
    {
        IsFused = KernelChoice.UseFused(KernelChoice.FromFused(fused), fusedKernel.Available, $"{GetType().Name} kernel");
    }

    private Optimizer(IEnumerable<Parameter> parameters, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.Where(p => p.requires_grad).ToArray();
        if (Parameters.Count == 0)
        {
            throw new ArgumentException("The optimizer was given no trainable parameters (none has requires_grad).", nameof(parameters));
        }

        LearningRate = learningRate;
        scales = Enumerable.Repeat(1.0, Parameters.Count).ToArray();
    }

    /// <summary>The parameters this optimizer updates.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Whether steps run the fused implementation (else the managed one).</summary>
    public bool IsFused { get; }

    /// <summary>The learning rate of the next step; settable by schedules. Must be positive.</summary>
    public double LearningRate
    {
        get => learningRate;
        set => learningRate = value > 0 && double.IsFinite(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be a positive finite number.");
    }

    /// <summary>The learning-rate scale of every parameter, in <see cref="Parameters"/> order.</summary>
    public IReadOnlyList<double> LearningRateScales => scales;

    /// <summary>
    /// Updates every parameter that has a gradient. When <paramref name="foundInf"/> is a non-zero 0-dim tensor the
    /// step is skipped entirely: parameters, moments and step counters are left as they were. Fused: no host sync;
    /// managed: one (the flag is read on the host).
    /// </summary>
    public void Step(Tensor? foundInf = null)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        using var scope = NewDisposeScope();
        var indices = new List<int>(Parameters.Count);
        var grads = new List<Tensor>(Parameters.Count);
        for (int i = 0; i < Parameters.Count; i++)
        {
            var grad = Parameters[i].grad;
            if (grad is not null)
            {
                indices.Add(i);
                grads.Add(grad);
            }
        }

        if (indices.Count == 0)
        {
            return;
        }

        var flag = foundInf ?? NoOverflow(grads[0]);
        bool? skipped = null;

        // Parameter groups: one call per distinct (learning-rate scale, dtype, device). CUDA's fused kernels take one
        // dtype and one device per call; the CPU's take mixed lists, but one group per dtype costs nothing there.
        foreach (var group in Enumerable.Range(0, indices.Count).GroupBy(k => (Scale: scales[indices[k]], grads[k].dtype, Device: grads[k].device_type, grads[k].device_index)))
        {
            var groupIndices = group.Select(k => indices[k]).ToArray();
            var groupGrads = group.Select(k => grads[k]).ToArray();
            using var _ = no_grad();
            double rate = LearningRate * group.Key.Scale;
            if (IsFused && FusedSupports(group.Key.dtype, group.Key.Device))
            {
                FusedStep(groupIndices, groupGrads, flag, rate);
                continue;
            }

            // Managed: the overflow flag is read on the host, once per step.
            skipped ??= foundInf is not null && HostReads.Item<float>(foundInf) != 0;
            if (!skipped.Value)
            {
                ManagedStep(groupIndices, groupGrads, rate);
            }
        }
    }

    /// <summary>
    /// Multiplies the learning rate of <paramref name="parameters"/> by <paramref name="scale"/> (parameter groups: e.g. 0.1
    /// for a pretrained base while the head learns at the full rate). Schedules still act on <see cref="LearningRate"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A parameter is not one of this optimizer's.</exception>
    public void SetLearningRateScale(IEnumerable<Parameter> parameters, double scale)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(scale > 0) || !double.IsFinite(scale))
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "A learning-rate scale must be a positive finite number.");
        }

        var index = Parameters.Select((p, i) => (p, i)).ToDictionary(x => (object)x.p, x => x.i, ReferenceEqualityComparer.Instance);
        foreach (var p in parameters)
        {
            scales[index.TryGetValue(p, out int i) ? i : throw new ArgumentException("The parameter is not updated by this optimizer.", nameof(parameters))] = scale;
        }
    }

    /// <summary>The gradients of the parameters that have one (handles to the live gradients, not copies).</summary>
    public Tensor[] Gradients() => Parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToArray();

    /// <summary>The optimizer state by name (<c>{index}.{slot}</c>) for checkpoints; tensors are shared, not copied.</summary>
    public abstract IReadOnlyDictionary<string, Tensor> StateDict();

    /// <summary>Copies state saved by <see cref="StateDict"/> into this optimizer.</summary>
    /// <exception cref="ArgumentException">Slots are missing, unexpected or mis-shaped; the message lists every one.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        StateDictCheck.Copy("The optimizer state", StateDict(), state);
        OnStateLoaded();
    }

    /// <summary>Host-side state for checkpoints: the learning rate and whatever a subclass adds.</summary>
    public virtual IReadOnlyDictionary<string, double> GetScalars() => new Dictionary<string, double> { ["learning_rate"] = LearningRate };

    /// <summary>Restores host-side state saved by <see cref="GetScalars"/>.</summary>
    public virtual void SetScalars(IReadOnlyDictionary<string, double> scalars)
    {
        ArgumentNullException.ThrowIfNull(scalars);
        if (scalars.TryGetValue("learning_rate", out double rate))
        {
            LearningRate = rate;
        }
    }

    /// <summary>Disposes the state tensors.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Sets every gradient of <see cref="Parameters"/> to none (for wrappers that own a whole iteration, like <see cref="MixFit.Precision.LossScaleOptimizer"/>).</summary>
    internal void ClearGradients()
    {
        foreach (var p in Parameters)
        {
            p.grad = null;
        }
    }

    /// <summary>
    /// The fused update, at <paramref name="learningRate"/>, of the parameters at <paramref name="indices"/> whose gradients are
    /// <paramref name="grads"/>; must leave everything unchanged when the 0-dim <paramref name="foundInf"/> is non-zero, without reading it on the host.
    /// Runs under <c>no_grad</c>, in a dispose scope. Only called when <see cref="IsFused"/>; the default throws.
    /// </summary>
    /// <exception cref="NotSupportedException">The optimizer was created with <c>fused: true</c> but does not override this.</exception>
    protected virtual void FusedStep(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, Tensor foundInf, double learningRate) =>
        throw new NotSupportedException($"{GetType().Name} was created with fused: true but does not override FusedStep; override it or pass fused: false.");

    /// <summary>
    /// Whether the fused kernel updates parameters of <paramref name="dtype"/> on <paramref name="device"/> correctly;
    /// groups it does not are updated by the managed implementation (one host read of the overflow flag per step).
    /// Default: every dtype and device.
    /// </summary>
    protected virtual bool FusedSupports(ScalarType dtype, DeviceType device) => true;

    /// <summary>
    /// The managed update, at <paramref name="learningRate"/>, of the parameters at <paramref name="indices"/> (into
    /// <see cref="Parameters"/>) whose gradients are <paramref name="grads"/> (unscaled, clipped, finite: it is only
    /// called for a step that is not skipped). Update the parameters and the state in place. Runs under
    /// <c>no_grad</c>, in a dispose scope: temporaries need no disposing.
    /// </summary>
    protected abstract void ManagedStep(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, double learningRate);

    /// <summary>Picks the entries of <paramref name="all"/> at <paramref name="indices"/> (empty stays empty).</summary>
    protected static Tensor[] Pick(Tensor[] all, IReadOnlyList<int> indices) =>
        all.Length == 0 || indices.Count == all.Length ? all : indices.Select(i => all[i]).ToArray();

    /// <summary>The parameters at <paramref name="indices"/>.</summary>
    protected Tensor[] ParametersAt(IReadOnlyList<int> indices) => indices.Select(i => (Tensor)Parameters[i]).ToArray();

    /// <summary>Creates a state tensor shaped like <paramref name="like"/> (zeros), owned by this optimizer and outside any dispose scope.</summary>
    protected Tensor NewState(Tensor like, ScalarType? dtype = null, bool scalar = false)
    {
        var t = scalar
            ? zeros(Array.Empty<long>(), dtype ?? ScalarType.Float32, like.device)
            : zeros_like(like, dtype: dtype ?? like.dtype);
        t.DetachFromDisposeScope();
        ownedState.Add(t);
        return t;
    }

    /// <summary>Called after <see cref="LoadStateDict"/> copied saved state into <see cref="StateDict"/>'s tensors (e.g. to read host-side flags back).</summary>
    protected virtual void OnStateLoaded()
    {
    }

    /// <summary>Disposes the state tensors when <paramref name="disposing"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposed && disposing)
        {
            foreach (var t in ownedState)
            {
                t.Dispose();
            }

            ownedState.Clear();
        }

        disposed = true;
    }

    /// <summary>A persistent 0-dim zero flag on <paramref name="like"/>'s device, for steps taken without a loss scaler.</summary>
    private Tensor NoOverflow(Tensor like)
    {
        if (noOverflow is null || noOverflow.device_type != like.device_type || noOverflow.device_index != like.device_index)
        {
            noOverflow = NewState(like, ScalarType.Float32, scalar: true);
        }

        return noOverflow;
    }
}
