namespace MixFit.Kernels;

/// <summary>SGD hyper-parameters for one step.</summary>
/// <param name="LearningRate">Step size.</param>
/// <param name="Momentum">Momentum factor (0 disables the buffers).</param>
/// <param name="Dampening">Dampening of the momentum.</param>
/// <param name="WeightDecay">L2 penalty added to the gradient.</param>
/// <param name="Nesterov">Nesterov momentum.</param>
/// <param name="Maximize">Ascend instead of descend.</param>
public sealed record SgdHyperParameters(
    double LearningRate, double Momentum, double Dampening, double WeightDecay, bool Nesterov, bool Maximize);
