using MixFit.Kernels;
using TorchSharp.Modules;

namespace MixFit.Optimizers;

/// <summary>
/// AdamW (Loshchilov and Hutter): Adam with weight decay applied to the weights rather than added to the gradient,
/// matching <c>torch.optim.AdamW</c>. Defaults: learning rate 1e-3, betas (0.9, 0.999), epsilon 1e-8, weight decay 0.01.
/// </summary>
public sealed class FusedAdamW : FusedAdam
{
    /// <summary>Creates AdamW over <paramref name="parameters"/>.</summary>
    public FusedAdamW(
        IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
        double weightDecay = 0.01, bool amsgrad = false, bool maximize = false, AmpKernels? kernels = null)
        : base(parameters, learningRate, beta1, beta2, epsilon, weightDecay, amsgrad, maximize, decoupled: true, kernels)
    {
    }
}
