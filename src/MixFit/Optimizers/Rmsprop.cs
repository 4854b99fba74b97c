using MixFit.Kernels;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Optimizers;

/// <summary>
/// RMSprop matching <c>torch.optim.RMSprop</c>. libtorch has no fused RMSprop kernel: the fused path is one
/// TorchScript function that masks every update with the overflow flag on the device (no host sync).
/// </summary>
/// <remarks>Defaults (PyTorch): learning rate 0.01 (Keras: 1e-3), alpha 0.99 (Keras' <c>rho</c>: 0.9), epsilon 1e-8
/// (Keras: 1e-7), no weight decay, no momentum, not centred.</remarks>
public sealed class Rmsprop : Optimizer
{
    private const string Source = @"
def rmsprop(params: List[Tensor], grads: List[Tensor], square_avgs: List[Tensor], grad_avgs: List[Tensor], bufs: List[Tensor], lr: float, alpha: float, eps: float, wd: float, momentum: float, centered: bool, found_inf: Tensor):
    # Every state update is selected with torch.where, so a flagged step changes nothing and nothing syncs.
    keep = found_inf > 0.0
    for i in range(len(params)):
        p = params[i]
        g = grads[i]
        if wd != 0.0:
            g = g + wd * p
        sq = square_avgs[i] * alpha + (1.0 - alpha) * g * g
        if centered:
            ga = grad_avgs[i] * alpha + (1.0 - alpha) * g
            avg = (sq - ga * ga).sqrt() + eps
            grad_avgs[i].copy_(torch.where(keep, grad_avgs[i], ga))
        else:
            avg = sq.sqrt() + eps
        square_avgs[i].copy_(torch.where(keep, square_avgs[i], sq))
        upd = g / avg
        if momentum > 0.0:
            upd = bufs[i] * momentum + upd
            bufs[i].copy_(torch.where(keep, bufs[i], upd))
        p.copy_(torch.where(keep, p, p - lr * upd))
";

    private static readonly TorchScriptFunctions Fused = new("RMSprop", Source);
    private readonly Tensor[] squareAvgs;
    private readonly Tensor[] gradAvgs;
    private readonly Tensor[] buffers;

    /// <summary>Creates RMSprop over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="learningRate">Step size. Default 0.01.</param>
    /// <param name="alpha">Decay of the squared-gradient average, in [0, 1]. Default 0.99.</param>
    /// <param name="epsilon">Added to the denominator, >= 0. Default 1e-8.</param>
    /// <param name="weightDecay">L2 penalty, >= 0. Default 0.</param>
    /// <param name="momentum">Momentum factor, >= 0. Default 0.</param>
    /// <param name="centered">Normalise by the estimated variance.</param>
    /// <param name="fused">null: fused where available; true: require fused; false: managed.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter outside its range.</exception>
    public Rmsprop(
        IEnumerable<Parameter> parameters, double learningRate = OptimizerDefaults.RmspropLearningRate, double alpha = OptimizerDefaults.RmspropAlpha,
        double epsilon = OptimizerDefaults.RmspropEpsilon, double weightDecay = 0, double momentum = 0, bool centered = false, bool? fused = null)
        : base(parameters, learningRate, fused, Fused)
    {
        if (alpha is < 0 or > 1 || epsilon < 0 || weightDecay < 0 || momentum < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), "alpha must be in [0, 1]; epsilon, weight decay and momentum >= 0.");
        }

        Alpha = alpha;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        Momentum = momentum;
        Centered = centered;
        squareAvgs = Parameters.Select(p => NewState(p)).ToArray();
        gradAvgs = centered ? Parameters.Select(p => NewState(p)).ToArray() : Array.Empty<Tensor>();
        buffers = momentum > 0 ? Parameters.Select(p => NewState(p)).ToArray() : Array.Empty<Tensor>();
    }

    /// <summary>Decay of the running mean of squared gradients.</summary>
    public double Alpha { get; }

    /// <summary>Added to the denominator.</summary>
    public double Epsilon { get; }

    /// <summary>L2 penalty.</summary>
    public double WeightDecay { get; }

    /// <summary>Momentum factor.</summary>
    public double Momentum { get; }

    /// <summary>Whether the centred variant is used.</summary>
    public bool Centered { get; }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var state = new Dictionary<string, Tensor>();
        for (int i = 0; i < Parameters.Count; i++)
        {
            state[$"{i}.square_avg"] = squareAvgs[i];
            if (Centered)
            {
                state[$"{i}.grad_avg"] = gradAvgs[i];
            }

            if (Momentum > 0)
            {
                state[$"{i}.momentum_buffer"] = buffers[i];
            }
        }

        return state;
    }

    /// <inheritdoc />
    protected override void FusedStep(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, Tensor foundInf, double learningRate) =>
        Fused.Invoke(
            "rmsprop", ParametersAt(indices), grads.ToArray(), Pick(squareAvgs, indices), Pick(gradAvgs, indices), Pick(buffers, indices),
            learningRate, Alpha, Epsilon, WeightDecay, Momentum, Centered, foundInf);

    /// <summary>PyTorch's single-tensor RMSprop, parameter by parameter.</summary>
    protected override void ManagedStep(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, double learningRate)
    {
        for (int k = 0; k < indices.Count; k++)
        {
            using var scope = NewDisposeScope();
            int i = indices[k];
            var grad = WeightDecay != 0 ? grads[k].add(Parameters[i], alpha: WeightDecay) : grads[k];
            squareAvgs[i].mul_(Alpha).addcmul_(grad, grad, value: 1 - Alpha);
            Tensor avg;
            if (Centered)
            {
                gradAvgs[i].lerp_(grad, 1 - Alpha);
                avg = squareAvgs[i].addcmul(gradAvgs[i], gradAvgs[i], value: -1).sqrt_().add_(Epsilon);
            }
            else
            {
                avg = squareAvgs[i].sqrt().add_(Epsilon);
            }

            if (Momentum > 0)
            {
                buffers[i].mul_(Momentum).addcdiv_(grad, avg);
                Parameters[i].add_(buffers[i], alpha: -learningRate);
            }
            else
            {
                Parameters[i].addcdiv_(grad, avg, value: -learningRate);
            }
        }
    }
}
