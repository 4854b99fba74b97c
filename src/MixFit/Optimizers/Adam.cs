using MixFit.Kernels;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Optimizers;

/// <summary>
/// Adam (Kingma and Ba) with an optional L2 penalty, matching <c>torch.optim.Adam</c>; fused: one libtorch
/// <c>_fused_adam_</c> call per step.
/// </summary>
/// <remarks>
/// Defaults (<see cref="OptimizerDefaults"/>) are PyTorch's: learning rate 1e-3, betas (0.9, 0.999), epsilon 1e-8 (Keras:
/// 1e-7), no weight decay. State per parameter: first and second moments (the parameter's dtype), a step counter
/// (0-dim float32), and the running maximum of second moments when <c>amsgrad</c>. A skipped step leaves all of it
/// unchanged.
/// </remarks>
public class Adam : Optimizer
{
    private const string Source = @"
def adam(params: List[Tensor], grads: List[Tensor], m: List[Tensor], v: List[Tensor], vmax: List[Tensor], steps: List[Tensor], lr: float, b1: float, b2: float, eps: float, wd: float, amsgrad: bool, maximize: bool, decoupled: bool, found_inf: Tensor):
    # The fused kernels read but do not advance the step counters: advance them here and take the increment
    # back where the step was skipped, all on the device.
    torch._foreach_add_(steps, 1.0)
    if decoupled:
        torch._fused_adamw_(params, grads, m, v, vmax, steps, lr=lr, beta1=b1, beta2=b2, weight_decay=wd, eps=eps, amsgrad=amsgrad, maximize=maximize, grad_scale=None, found_inf=found_inf)
    else:
        torch._fused_adam_(params, grads, m, v, vmax, steps, lr=lr, beta1=b1, beta2=b2, weight_decay=wd, eps=eps, amsgrad=amsgrad, maximize=maximize, grad_scale=None, found_inf=found_inf)
    torch._foreach_sub_(steps, [found_inf for _ in steps])
";

    private static readonly TorchScriptFunctions Fused = new("Adam", Source);
    private readonly Tensor[] expAvg;
    private readonly Tensor[] expAvgSq;
    private readonly Tensor[] maxExpAvgSq;
    private readonly Tensor[] steps;

    // The managed update's host copy of the step counts (the bias corrections need them on the host every step);
    // null while unknown: after a fused step (counted on the device, overflow-aware) or a loaded state, read once.
    private double[]? hostSteps;

    /// <summary>Creates Adam over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="learningRate">Step size. Default 1e-3.</param>
    /// <param name="beta1">First-moment decay, in [0, 1). Default 0.9.</param>
    /// <param name="beta2">Second-moment decay, in [0, 1). Default 0.999.</param>
    /// <param name="epsilon">Added to the denominator, >= 0. Default 1e-8.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, >= 0. Default 0.</param>
    /// <param name="amsgrad">Keep the running maximum of second moments.</param>
    /// <param name="maximize">Ascend instead of descend.</param>
    /// <param name="fused">null: fused where available; true: require fused; false: managed.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter outside its range (named).</exception>
    public Adam(
        IEnumerable<Parameter> parameters, double learningRate = OptimizerDefaults.LearningRate, double beta1 = OptimizerDefaults.Beta1,
        double beta2 = OptimizerDefaults.Beta2, double epsilon = OptimizerDefaults.AdamEpsilon, double weightDecay = 0, bool amsgrad = false,
        bool maximize = false, bool? fused = null)
        : this(parameters, learningRate, beta1, beta2, epsilon, weightDecay, amsgrad, maximize, decoupled: false, fused)
    {
    }

    /// <summary>Creates Adam or, with <paramref name="decoupled"/>, AdamW.</summary>
    private protected Adam(
        IEnumerable<Parameter> parameters, double learningRate, double beta1, double beta2, double epsilon,
        double weightDecay, bool amsgrad, bool maximize, bool decoupled, bool? fused)
        : base(parameters, learningRate, fused, Fused)
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
        hostSteps = new double[Parameters.Count];
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
    protected override void FusedStep(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, Tensor foundInf, double learningRate)
    {
        Fused.Invoke(
            "adam", ParametersAt(indices), grads.ToArray(), Pick(expAvg, indices), Pick(expAvgSq, indices), Pick(maxExpAvgSq, indices),
            Pick(steps, indices), learningRate, Beta1, Beta2, Epsilon, WeightDecay, Amsgrad, Maximize, Decoupled, foundInf);
        hostSteps = null;      // counted on the device, where a skipped step does not count
    }

    /// <summary>The loaded step counts are read back when the managed update next needs them.</summary>
    protected override void OnStateLoaded() => hostSteps = null;

    /// <summary>PyTorch's single-tensor Adam, parameter by parameter.</summary>
    protected override void ManagedStep(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, double learningRate)
    {
        if (hostSteps is null)
        {
            using var all = stack(steps);
            hostSteps = HostReads.Values<float>(all).Select(v => (double)v).ToArray();      // one read, then counted here
        }

        for (int k = 0; k < indices.Count; k++)
        {
            using var scope = NewDisposeScope();
            int i = indices[k];
            Tensor param = Parameters[i];
            var grad = Maximize ? grads[k].neg() : grads[k];
            steps[i].add_(1);
            double step = ++hostSteps[i];
            if (Decoupled)
            {
                param.mul_(1 - (learningRate * WeightDecay));
            }
            else if (WeightDecay != 0)
            {
                grad = grad.add(param, alpha: WeightDecay);
            }

            expAvg[i].lerp_(grad, 1 - Beta1);
            expAvgSq[i].mul_(Beta2).addcmul_(grad, grad, value: 1 - Beta2);
            double biasCorrection1 = 1 - Math.Pow(Beta1, step);
            double biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, step));
            Tensor second = expAvgSq[i];
            if (Amsgrad)
            {
                maxExpAvgSq[i].copy_(maximum(maxExpAvgSq[i], expAvgSq[i]));
                second = maxExpAvgSq[i];
            }

            var denom = (second.sqrt() / biasCorrection2Sqrt).add_(Epsilon);
            param.addcdiv_(expAvg[i], denom, value: -(learningRate / biasCorrection1));
        }
    }
}
