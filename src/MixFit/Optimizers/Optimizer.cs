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
/// reading the overflow flag on the host. MixFit's run libtorch's fused multi-tensor kernels (see
/// <see cref="AmpKernels"/>) and take the flag as a device tensor, so a loss-scaled step never synchronises.</para>
/// <para>Build an optimizer after the model is prepared by a precision strategy: preparing converts the model and
/// creates new parameter objects. State tensors are created eagerly, outside any dispose scope.</para>
/// </remarks>
public abstract class Optimizer : IDisposable
{
    private readonly List<Tensor> ownedState = new();
    private Tensor? noOverflow;
    private bool disposed;

    /// <summary>Creates the optimizer over <paramref name="parameters"/> (those without <c>requires_grad</c> are ignored).</summary>
    /// <exception cref="ArgumentException">No trainable parameters, or a non-positive learning rate.</exception>
    protected Optimizer(IEnumerable<Parameter> parameters, double learningRate, AmpKernels? kernels)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.Where(p => p.requires_grad).ToArray();
        if (Parameters.Count == 0)
        {
            throw new ArgumentException("The optimizer was given no trainable parameters (none has requires_grad).", nameof(parameters));
        }

        LearningRate = learningRate;
        Kernels = kernels ?? AmpKernels.Default;
        scales = Enumerable.Repeat(1.0, Parameters.Count).ToArray();
    }

    private readonly double[] scales;

    /// <summary>The parameters this optimizer updates.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The kernels used for steps.</summary>
    public AmpKernels Kernels { get; }

    /// <summary>The learning rate of the next step; settable by schedules. Must be positive.</summary>
    public double LearningRate
    {
        get => learningRate;
        set => learningRate = value > 0 && double.IsFinite(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be a positive finite number.");
    }

    private double learningRate;

    /// <summary>
    /// Updates every parameter that has a gradient. When <paramref name="foundInf"/> is a non-zero 0-dim tensor the
    /// step is skipped entirely: parameters, moments and step counters are left as they were.
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
        if (indices.All(i => scales[i] == 1.0))
        {
            StepCore(indices, grads, flag, LearningRate);
            return;
        }

        // Parameter groups: one kernel call per distinct learning-rate scale.
        foreach (var group in Enumerable.Range(0, indices.Count).GroupBy(k => scales[indices[k]]))
        {
            StepCore(group.Select(k => indices[k]).ToArray(), group.Select(k => grads[k]).ToArray(), flag, LearningRate * group.Key);
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

    /// <summary>The learning-rate scale of every parameter, in <see cref="Parameters"/> order.</summary>
    public IReadOnlyList<double> LearningRateScales => scales;

    /// <summary>The gradients of the parameters that have one (handles to the live gradients, not copies).</summary>
    public Tensor[] Gradients() => Parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToArray();

    /// <summary>Clears the gradients of the parameters (sets them to none).</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters)
        {
            p.grad = null;
        }
    }

    /// <summary>The optimizer state by name (<c>{index}.{slot}</c>) for checkpoints; tensors are shared, not copied.</summary>
    public abstract IReadOnlyDictionary<string, Tensor> StateDict();

    /// <summary>Copies state saved by <see cref="StateDict"/> into this optimizer.</summary>
    /// <exception cref="ArgumentException">Slots are missing, unexpected or mis-shaped; the message lists every one.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        StateDictCheck.Copy("The optimizer state", StateDict(), state);
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

    /// <summary>Runs the update, at <paramref name="learningRate"/>, for the parameters at <paramref name="indices"/> whose gradients are <paramref name="grads"/>.</summary>
    protected abstract void StepCore(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, Tensor foundInf, double learningRate);

    /// <summary>A persistent 0-dim zero flag on <paramref name="like"/>'s device, for steps taken without a loss scaler.</summary>
    private Tensor NoOverflow(Tensor like)
    {
        if (noOverflow is null || noOverflow.device_type != like.device_type || noOverflow.device_index != like.device_index)
        {
            noOverflow = NewState(like, ScalarType.Float32, scalar: true);
        }

        return noOverflow;
    }

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

    /// <summary>Disposes the state tensors.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
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
}
