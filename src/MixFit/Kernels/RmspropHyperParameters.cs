namespace MixFit.Kernels;

/// <summary>RMSprop hyper-parameters for one step.</summary>
/// <param name="LearningRate">Step size.</param>
/// <param name="Alpha">Decay of the running mean of squared gradients.</param>
/// <param name="Epsilon">Added to the denominator.</param>
/// <param name="WeightDecay">L2 penalty added to the gradient.</param>
/// <param name="Momentum">Momentum factor (0 disables the buffers).</param>
/// <param name="Centered">Normalise by the estimated variance instead of the second moment.</param>
public sealed record RmspropHyperParameters(double LearningRate, double Alpha, double Epsilon, double WeightDecay, double Momentum, bool Centered);
