using MixFit.Kernels;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Optimizers;

/// <summary>
/// RMSprop matching <c>torch.optim.RMSprop</c> (defaults: learning rate 0.01, alpha 0.99, epsilon 1e-8). A skipped
/// step leaves parameters and state unchanged without a host sync (the update is masked on the device).
/// </summary>
public sealed class FusedRmsprop : Optimizer
{
    private readonly Tensor[] squareAvgs;
    private readonly Tensor[] gradAvgs;
    private readonly Tensor[] buffers;

    /// <summary>Creates RMSprop over <paramref name="parameters"/>.</summary>
    public FusedRmsprop(
        IEnumerable<Parameter> parameters, double learningRate = 0.01, double alpha = 0.99, double epsilon = 1e-8, double weightDecay = 0,
        double momentum = 0, bool centered = false, AmpKernels? kernels = null)
        : base(parameters, learningRate, kernels)
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
    protected override void StepCore(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, Tensor foundInf, double learningRate)
    {
        Tensor[] Pick(Tensor[] all) => all.Length == 0 ? all : indices.Select(i => all[i]).ToArray();
        var hp = new RmspropHyperParameters(learningRate, Alpha, Epsilon, WeightDecay, Momentum, Centered);
        Kernels.RmspropStep(indices.Select(i => (Tensor)Parameters[i]).ToArray(), grads, Pick(squareAvgs), Pick(gradAvgs), Pick(buffers), hp, foundInf);
    }
}
