namespace MixFit.Precision;

/// <summary>How a <see cref="LossScaler"/> scales the loss.</summary>
public enum LossScaleMode
{
    /// <summary>No scaling: a pass-through (scale 1, no overflow check, no skipped steps).</summary>
    None,

    /// <summary>A constant scale; steps with inf/NaN gradients are still skipped.</summary>
    Fixed,

    /// <summary>Halve on overflow, double after a run of finite steps (Keras <c>LossScaleOptimizer</c>, PyTorch <c>GradScaler</c>).</summary>
    Dynamic,
}
