using MixFit.Kernels;
using MixFit.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Optimizers;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 penalty, matching
/// <c>torch.optim.SGD</c>; fused: one libtorch <c>_fused_sgd_</c> call per step.
/// </summary>
/// <remarks>
/// Defaults: learning rate 1e-3 (PyTorch 2.x; Keras: 0.01), no momentum, dampening or weight decay. The momentum
/// buffer starts as a copy of the first gradient (PyTorch). If that very first step is skipped for overflow, the
/// buffer starts from zero instead, which differs only when dampening is non-zero. Whether each buffer has started
/// is part of the state dict (<c>{i}.momentum_started</c>), so a restored optimizer continues its momentum.
/// </remarks>
public sealed class Sgd : Optimizer
{
    private const string Source = @"
def sgd(params: List[Tensor], grads: List[Tensor], bufs: List[Tensor], wd: float, momentum: float, lr: float, dampening: float, nesterov: bool, maximize: bool, first: bool, found_inf: Tensor):
    torch._fused_sgd_(params, grads, bufs, weight_decay=wd, momentum=momentum, lr=lr, dampening=dampening, nesterov=nesterov, maximize=maximize, is_first_step=first, grad_scale=None, found_inf=found_inf)
";

    private static readonly TorchScriptFunctions Fused = new("SGD", Source);
    private readonly Tensor[] buffers;
    private readonly Tensor[] startedFlags;
    private readonly HashSet<int> startedParameters = new();
    private bool started;

    /// <summary>Creates SGD over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="learningRate">Step size. Default 1e-3.</param>
    /// <param name="momentum">Momentum factor, >= 0. Default 0.</param>
    /// <param name="dampening">Dampening of the momentum, >= 0. Default 0.</param>
    /// <param name="weightDecay">L2 penalty, >= 0. Default 0.</param>
    /// <param name="nesterov">Nesterov momentum (needs positive momentum and zero dampening).</param>
    /// <param name="maximize">Ascend instead of descend.</param>
    /// <param name="fused">null: fused where available; true: require fused; false: managed.</param>
    /// <exception cref="ArgumentException">Nesterov without momentum or with dampening, or a negative factor.</exception>
    public Sgd(
        IEnumerable<Parameter> parameters, double learningRate = OptimizerDefaults.LearningRate, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false, bool maximize = false, bool? fused = null)
        : base(parameters, learningRate, fused, Fused)
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
        startedFlags = momentum != 0 ? Parameters.Select(p => NewState(p, ScalarType.Float32, scalar: true)).ToArray() : Array.Empty<Tensor>();
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

            // The host-side flag, written into its state tensor now (a fill, no sync).
            startedFlags[i].fill_(startedParameters.Contains(i) ? 1 : 0);
            state[$"{i}.momentum_started"] = startedFlags[i];
        }

        return state;
    }

    /// <summary>Reads the loaded <c>momentum_started</c> flags back to the host (one sync per load).</summary>
    protected override void OnStateLoaded()
    {
        startedParameters.Clear();
        if (startedFlags.Length > 0)
        {
            using var flags = stack(startedFlags);
            var values = HostReads.Values<float>(flags);
            startedParameters.UnionWith(Enumerable.Range(0, values.Length).Where(i => values[i] != 0));
        }

        started = startedParameters.Count == Parameters.Count;
    }

    /// <summary>
    /// libtorch 2.10's CPU <c>_fused_sgd_</c> leaves every whole SIMD block of a float16/bfloat16 parameter unchanged
    /// (only the remainder of its length moves: PyTorch issue 191763, fixed after 2.10), so half-precision
    /// parameters on the CPU take the managed update there. libtorch 2.14.1's kernel was checked and updates them
    /// (tools/current-libtorch), so from 2.14 on they take the fused one; 2.11-2.13 were never checked and keep the
    /// managed update. CUDA's kernel is not affected.
    /// </summary>
    protected override bool FusedSupports(ScalarType dtype, DeviceType device) =>
        device != DeviceType.CPU || (dtype != ScalarType.Float16 && dtype != ScalarType.BFloat16) || CpuHalfKernelFixed.Value;

    private static readonly Lazy<bool> CpuHalfKernelFixed = new(() =>
        System.Version.TryParse(LibTorchBuild.Current.Version, out var loaded) && loaded >= new System.Version(2, 14));

    /// <inheritdoc />
    protected override void FusedStep(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, Tensor foundInf, double learningRate)
    {
        Fused.Invoke(
            "sgd", ParametersAt(indices), grads.ToArray(), Pick(buffers, indices), WeightDecay, Momentum, learningRate,
            Dampening, Nesterov, Maximize, IsFirstStep(indices), foundInf);
        MarkStarted(indices);
    }

    /// <summary>PyTorch's single-tensor SGD, parameter by parameter.</summary>
    protected override void ManagedStep(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, double learningRate)
    {
        bool first = IsFirstStep(indices);
        for (int k = 0; k < indices.Count; k++)
        {
            using var scope = NewDisposeScope();
            int i = indices[k];
            var grad = Maximize ? grads[k].neg() : grads[k];
            if (WeightDecay != 0)
            {
                grad = grad.add(Parameters[i], alpha: WeightDecay);
            }

            if (Momentum != 0)
            {
                var buffer = buffers[i];
                if (first)
                {
                    buffer.copy_(grad);
                }
                else
                {
                    buffer.mul_(Momentum).add_(grad, alpha: 1 - Dampening);
                }

                grad = Nesterov ? grad.add(buffer, alpha: Momentum) : buffer;
            }

            Parameters[i].add_(grad, alpha: -learningRate);
        }

        MarkStarted(indices);
    }

    private bool IsFirstStep(IReadOnlyList<int> indices) => !started || indices.Any(i => !startedParameters.Contains(i));

    private void MarkStarted(IReadOnlyList<int> indices)
    {
        startedParameters.UnionWith(indices);
        started = startedParameters.Count == Parameters.Count;
    }
}
