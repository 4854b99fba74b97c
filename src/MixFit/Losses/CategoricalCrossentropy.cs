using static TorchSharp.torch;

namespace MixFit.Losses;

/// <summary>Cross-entropy against one-hot (or soft) target rows. Default: from logits, no label smoothing.</summary>
public sealed class CategoricalCrossentropy : CrossentropyLoss
{
    /// <summary>Creates the loss.</summary>
    public CategoricalCrossentropy(bool fromLogits = true, double labelSmoothing = 0)
        : base(fromLogits, labelSmoothing)
    {
    }

    /// <inheritdoc />
    public override string Name => "categorical_crossentropy";

    /// <inheritdoc />
    public override Tensor PerSample(Tensor output, Tensor target)
    {
        CheckSameShape(output, target);
        var targets = target.to(ScalarType.Float32);
        if (LabelSmoothing > 0)
        {
            targets = targets * (1 - LabelSmoothing) + LabelSmoothing / output.shape[1];
        }

        return -(targets * LogProbabilities(output)).sum(1);
    }
}
