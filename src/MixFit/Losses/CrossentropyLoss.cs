using static TorchSharp.torch;

namespace MixFit.Losses;

/// <summary>What the categorical cross-entropies share: logits or probabilities, and label smoothing.</summary>
public abstract class CrossentropyLoss : Loss
{
    /// <summary>Checks and stores the options.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Label smoothing outside [0, 1).</exception>
    protected CrossentropyLoss(bool fromLogits, double labelSmoothing)
    {
        if (labelSmoothing is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "Label smoothing must be in [0, 1).");
        }

        FromLogits = fromLogits;
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>Whether outputs are logits (recommended; numerically stable) rather than probabilities.</summary>
    public bool FromLogits { get; }

    /// <summary>Mixes the target with a uniform distribution, in [0, 1).</summary>
    public double LabelSmoothing { get; }

    /// <summary>Log-probabilities of the outputs, in float32.</summary>
    protected Tensor LogProbabilities(Tensor output)
    {
        var values = output.to(ScalarType.Float32);
        return FromLogits ? values.log_softmax(1) : values.clamp(1e-7, 1 - 1e-7).log();
    }
}
