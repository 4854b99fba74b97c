using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Losses;

/// <summary>Cross-entropy against integer class indices. Default: from logits, no label smoothing.</summary>
public sealed class SparseCategoricalCrossentropy : CrossentropyLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Outputs are logits rather than probabilities.</param>
    /// <param name="labelSmoothing">Mixes the one-hot target with a uniform distribution, in [0, 1).</param>
    public SparseCategoricalCrossentropy(bool fromLogits = true, double labelSmoothing = 0)
        : base(fromLogits, labelSmoothing)
    {
    }

    /// <inheritdoc />
    public override string Name => "sparse_categorical_crossentropy";

    /// <inheritdoc />
    public override bool SparseTargets => true;

    /// <inheritdoc />
    public override Tensor PerSample(Tensor output, Tensor target)
    {
        CheckShapes(output, target);
        var labels = target.to(ScalarType.Int64);
        var logProbabilities = LogProbabilities(output);
        var nll = -logProbabilities.gather(1, labels.unsqueeze(1)).squeeze(1);
        if (LabelSmoothing == 0)
        {
            return nll;
        }

        var uniform = -logProbabilities.mean(new long[] { 1 });
        return (1 - LabelSmoothing) * nll + LabelSmoothing * uniform;
    }

    /// <inheritdoc />
    public override void Validate(Tensor output, Tensor target)
    {
        CheckShapes(output, target);
        if (target.is_floating_point())
        {
            throw new ArgumentException($"{Name}: targets must be integer class indices, got {target.dtype} (use categorical_crossentropy for one-hot targets).");
        }

        long classes = output.shape[1];
        using var range = TorchSharp.torch.stack(new[] { target.min(), target.max() });
        var bounds = MixFit.Kernels.HostReads.Values<long>(range);   // one transfer for both
        long min = bounds[0], max = bounds[1];
        if (min < 0 || max >= classes)
        {
            throw new ArgumentException($"{Name}: label {(min < 0 ? min : max)} is outside the {classes} classes of the model output (expected 0..{classes - 1}).");
        }
    }

    private void CheckShapes(Tensor output, Tensor target)
    {
        if (output.dim() != 2 || target.dim() != 1 || output.shape[0] != target.shape[0])
        {
            throw new ArgumentException(
                $"{Name}: expected outputs [batch, classes] and targets [batch], got outputs [{string.Join(",", output.shape)}] and targets [{string.Join(",", target.shape)}].");
        }
    }
}
