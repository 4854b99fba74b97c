using TorchSharp.Modules;

namespace MixFit.Optimizers;

/// <summary>
/// AdamW (Loshchilov and Hutter): Adam with weight decay applied to the weights rather than added to the gradient,
/// matching <c>torch.optim.AdamW</c>. Defaults: learning rate 1e-3, betas (0.9, 0.999), epsilon 1e-8, weight decay
/// 0.01 (PyTorch; Keras: 0.004). The algorithm lives in <see cref="Adam"/>.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates AdamW over <paramref name="parameters"/>; see <see cref="Adam"/> for the parameters.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="learningRate">Step size. Default 1e-3.</param>
    /// <param name="beta1">First-moment decay, in [0, 1). Default 0.9.</param>
    /// <param name="beta2">Second-moment decay, in [0, 1). Default 0.999.</param>
    /// <param name="epsilon">Added to the denominator, >= 0. Default 1e-8.</param>
    /// <param name="weightDecay">Decoupled weight decay, >= 0. Default 0.01.</param>
    /// <param name="amsgrad">Keep the running maximum of second moments.</param>
    /// <param name="maximize">Ascend instead of descend.</param>
    /// <param name="fused">null: fused where available; true: require fused; false: managed.</param>
    public AdamW(
        IEnumerable<Parameter> parameters, double learningRate = OptimizerDefaults.LearningRate, double beta1 = OptimizerDefaults.Beta1,
        double beta2 = OptimizerDefaults.Beta2, double epsilon = OptimizerDefaults.AdamEpsilon, double weightDecay = OptimizerDefaults.AdamWWeightDecay,
        bool amsgrad = false, bool maximize = false, bool? fused = null)
        : base(parameters, learningRate, beta1, beta2, epsilon, weightDecay, amsgrad, maximize, decoupled: true, fused)
    {
    }
}
