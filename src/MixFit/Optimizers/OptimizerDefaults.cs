namespace MixFit.Optimizers;

/// <summary>
/// Every optimizer hyper-parameter default in one place. They match <c>torch.optim</c> (PyTorch 2.x), which MixFit's
/// optimizers reproduce numerically; where Keras' defaults differ, the difference is noted.
/// </summary>
public static class OptimizerDefaults
{
    /// <summary>Learning rate of Adam, AdamW and SGD: 1e-3 (PyTorch and Keras agree).</summary>
    public const double LearningRate = 1e-3;

    /// <summary>RMSprop's learning rate: 1e-2 (PyTorch; Keras uses 1e-3). <see cref="OptimizerConfig"/> uses <see cref="LearningRate"/> for every optimizer.</summary>
    public const double RmspropLearningRate = 1e-2;

    /// <summary>Adam's first-moment decay: 0.9.</summary>
    public const double Beta1 = 0.9;

    /// <summary>Adam's second-moment decay: 0.999.</summary>
    public const double Beta2 = 0.999;

    /// <summary>Adam's epsilon: 1e-8 (PyTorch; Keras uses 1e-7).</summary>
    public const double AdamEpsilon = 1e-8;

    /// <summary>AdamW's decoupled weight decay: 0.01 (PyTorch; Keras uses 0.004).</summary>
    public const double AdamWWeightDecay = 0.01;

    /// <summary>RMSprop's decay of the squared-gradient average: 0.99 (PyTorch's <c>alpha</c>; Keras' <c>rho</c> is 0.9).</summary>
    public const double RmspropAlpha = 0.99;

    /// <summary>RMSprop's epsilon: 1e-8 (PyTorch; Keras uses 1e-7).</summary>
    public const double RmspropEpsilon = 1e-8;
}
