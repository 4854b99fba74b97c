using MixFit.Kernels;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Optimizers;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 penalty, matching
/// <c>torch.optim.SGD</c>; one fused kernel call per step.
/// </summary>
/// <remarks>
/// The momentum buffer starts as a copy of the first gradient (PyTorch). If that very first step is skipped for
/// overflow, the buffer starts from zero instead, which differs only when dampening is non-zero.
/// </remarks>
public sealed class FusedSgd : Optimizer
{
    private readonly Tensor[] buffers;
    private readonly HashSet<int> startedParameters = new();
    private bool started;

    /// <summary>Creates SGD over <paramref name="parameters"/>.</summary>
    /// <exception cref="ArgumentException">Nesterov without momentum or with dampening, or a negative factor.</exception>
    public FusedSgd(
        IEnumerable<Parameter> parameters, double learningRate, double momentum = 0, double dampening = 0, double weightDecay = 0,
        bool nesterov = false, bool maximize = false, AmpKernels? kernels = null)
        : base(parameters, learningRate, kernels)
    {
        if (momentum < 0 || dampening < 0 || weightDecay < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(momentum), "momentum, dampening and weight decay must be >= 0.");
        }

        if (nesterov && (momentum <= 0 || dampening != 0))
        {
            throw new ArgumentException("Nesterov momentum requires a positive momentum and zero dampening.", nameof(nesterov));
        }

        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        Maximize = maximize;
        buffers = momentum != 0 ? Parameters.Select(p => NewState(p)).ToArray() : Array.Empty<Tensor>();
    }

    /// <summary>Momentum factor (0: plain SGD).</summary>
    public double Momentum { get; }

    /// <summary>Dampening of the momentum.</summary>
    public double Dampening { get; }

    /// <summary>L2 penalty.</summary>
    public double WeightDecay { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <summary>Whether the objective is maximised.</summary>
    public bool Maximize { get; }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var state = new Dictionary<string, Tensor>();
        for (int i = 0; i < buffers.Length; i++)
        {
            state[$"{i}.momentum_buffer"] = buffers[i];
        }

        return state;
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, double> GetScalars() =>
        new Dictionary<string, double>(base.GetScalars()) { ["momentum_started"] = started ? 1 : 0 };

    /// <inheritdoc />
    public override void SetScalars(IReadOnlyDictionary<string, double> scalars)
    {
        base.SetScalars(scalars);
        started = scalars.TryGetValue("momentum_started", out double value) && value != 0;
        startedParameters.Clear();
        if (started)
        {
            startedParameters.UnionWith(Enumerable.Range(0, Parameters.Count));
        }
    }

    /// <inheritdoc />
    protected override void StepCore(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, Tensor foundInf, double learningRate)
    {
        var hp = new SgdHyperParameters(learningRate, Momentum, Dampening, WeightDecay, Nesterov, Maximize);
        var bufs = buffers.Length == 0 ? Array.Empty<Tensor>() : indices.Select(i => buffers[i]).ToArray();
        Kernels.SgdStep(indices.Select(i => (Tensor)Parameters[i]).ToArray(), grads, bufs, hp, isFirstStep: !started || indices.Any(i => !startedParameters.Contains(i)), foundInf);
        startedParameters.UnionWith(indices);
        started = startedParameters.Count == Parameters.Count;
    }
}
