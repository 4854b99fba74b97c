using MixFit.Kernels;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Optimizers;

/// <summary>
/// Adam (Kingma and Ba) with an optional L2 penalty, matching <c>torch.optim.Adam</c>; one fused kernel call per step.
/// </summary>
/// <remarks>
/// Defaults are PyTorch's: learning rate 1e-3, betas (0.9, 0.999), epsilon 1e-8, no weight decay. State per
/// parameter: first and second moments (the parameter's dtype), a step counter (0-dim float32), and the running
/// maximum of second moments when <c>amsgrad</c>. A skipped step leaves all of it unchanged.
/// </remarks>
public class FusedAdam : Optimizer
{
    private readonly Tensor[] expAvg;
    private readonly Tensor[] expAvgSq;
    private readonly Tensor[] maxExpAvgSq;
    private readonly Tensor[] steps;

    /// <summary>Creates Adam over <paramref name="parameters"/>.</summary>
    public FusedAdam(
        IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
        double weightDecay = 0, bool amsgrad = false, bool maximize = false, AmpKernels? kernels = null)
        : this(parameters, learningRate, beta1, beta2, epsilon, weightDecay, amsgrad, maximize, decoupled: false, kernels)
    {
    }

    /// <summary>Creates Adam or, with <paramref name="decoupled"/>, AdamW.</summary>
    protected FusedAdam(
        IEnumerable<Parameter> parameters, double learningRate, double beta1, double beta2, double epsilon,
        double weightDecay, bool amsgrad, bool maximize, bool decoupled, AmpKernels? kernels)
        : base(parameters, learningRate, kernels)
    {
        if (beta1 is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1).");
        }

        if (beta2 is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1).");
        }

        if (epsilon < 0 || weightDecay < 0)
        {
            throw new ArgumentOutOfRangeException(epsilon < 0 ? nameof(epsilon) : nameof(weightDecay), "epsilon and weight decay must be >= 0.");
        }

        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        Amsgrad = amsgrad;
        Maximize = maximize;
        Decoupled = decoupled;
        expAvg = Parameters.Select(p => NewState(p)).ToArray();
        expAvgSq = Parameters.Select(p => NewState(p)).ToArray();
        maxExpAvgSq = amsgrad ? Parameters.Select(p => NewState(p)).ToArray() : Array.Empty<Tensor>();
        steps = Parameters.Select(p => NewState(p, ScalarType.Float32, scalar: true)).ToArray();
    }

    /// <summary>Decay of the first moment.</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second moment.</summary>
    public double Beta2 { get; }

    /// <summary>Added to the denominator for stability.</summary>
    public double Epsilon { get; }

    /// <summary>L2 penalty (Adam) or decoupled weight decay (AdamW).</summary>
    public double WeightDecay { get; }

    /// <summary>Whether the AMSGrad variant is used.</summary>
    public bool Amsgrad { get; }

    /// <summary>Whether the objective is maximised.</summary>
    public bool Maximize { get; }

    /// <summary>Whether weight decay is decoupled from the gradient (AdamW).</summary>
    public bool Decoupled { get; }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var state = new Dictionary<string, Tensor>();
        for (int i = 0; i < Parameters.Count; i++)
        {
            state[$"{i}.exp_avg"] = expAvg[i];
            state[$"{i}.exp_avg_sq"] = expAvgSq[i];
            state[$"{i}.step"] = steps[i];
            if (Amsgrad)
            {
                state[$"{i}.max_exp_avg_sq"] = maxExpAvgSq[i];
            }
        }

        return state;
    }

    /// <inheritdoc />
    protected override void StepCore(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, Tensor foundInf, double learningRate)
    {
        var hp = new AdamHyperParameters(learningRate, Beta1, Beta2, Epsilon, WeightDecay, Amsgrad, Maximize, Decoupled);
        Kernels.AdamStep(
            indices.Select(i => (Tensor)Parameters[i]).ToArray(), grads, Pick(expAvg, indices), Pick(expAvgSq, indices),
            Amsgrad ? Pick(maxExpAvgSq, indices) : Array.Empty<Tensor>(), Pick(steps, indices), hp, foundInf);
    }

    private static Tensor[] Pick(Tensor[] all, IReadOnlyList<int> indices) =>
        indices.Count == all.Length ? all : indices.Select(i => all[i]).ToArray();
}
