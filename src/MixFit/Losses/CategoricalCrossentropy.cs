using static TorchSharp.torch;

namespace MixFit.Losses;

/// <summary>Cross-entropy against one-hot (or soft) target rows. Default: from logits, no label smoothing.</summary>
public sealed class CategoricalCrossentropy : Loss
{
    /// <summary>Creates the loss.</summary>
    public CategoricalCrossentropy(bool fromLogits = true, double labelSmoothing = 0)
    {
        if (labelSmoothing is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "Label smoothing must be in [0, 1).");
        }

        FromLogits = fromLogits;
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>Whether outputs are logits.</summary>
    public bool FromLogits { get; }

    /// <summary>Label smoothing factor.</summary>
    public double LabelSmoothing { get; }

    /// <inheritdoc />
    public override string Name => "categorical_crossentropy";

    /// <inheritdoc />
    public override Tensor Compute(Tensor output, Tensor target)
    {
        CheckSameShape(output, target);
        var logits = output.to(ScalarType.Float32);
        var targets = target.to(ScalarType.Float32);
        if (LabelSmoothing > 0)
        {
            targets = targets * (1 - LabelSmoothing) + LabelSmoothing / output.shape[1];
        }

        var logProbabilities = FromLogits ? logits.log_softmax(1) : logits.clamp(1e-7, 1 - 1e-7).log();
        return -(targets * logProbabilities).sum(1).mean();
    }
}
