namespace MixFit.Kernels;

/// <summary>Adam/AdamW hyper-parameters for one step.</summary>
/// <param name="LearningRate">Step size.</param>
/// <param name="Beta1">Decay of the first moment.</param>
/// <param name="Beta2">Decay of the second moment.</param>
/// <param name="Epsilon">Added to the denominator.</param>
/// <param name="WeightDecay">L2 penalty (Adam) or decoupled decay (AdamW).</param>
/// <param name="Amsgrad">Keep the maximum of the second moments.</param>
/// <param name="Maximize">Ascend instead of descend.</param>
/// <param name="DecoupledWeightDecay">AdamW: decay the weights directly rather than adding to the gradient.</param>
public sealed record AdamHyperParameters(
    double LearningRate, double Beta1, double Beta2, double Epsilon, double WeightDecay, bool Amsgrad, bool Maximize, bool DecoupledWeightDecay);
