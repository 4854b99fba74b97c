using static TorchSharp.torch;

namespace MixFit.Losses;

/// <summary>
/// Binary cross-entropy. From logits by default (stable under every policy); the probability form is refused on
/// float16 outputs, where log(1 - p) loses everything near p = 1 (PyTorch's autocast refuses it too).
/// </summary>
public sealed class BinaryCrossentropy : Loss
{
    /// <summary>Creates the loss; <paramref name="fromLogits"/> default true.</summary>
    public BinaryCrossentropy(bool fromLogits = true) => FromLogits = fromLogits;

    /// <summary>Whether outputs are logits.</summary>
    public bool FromLogits { get; }

    /// <inheritdoc />
    public override string Name => "binary_crossentropy";

    /// <inheritdoc />
    public override Tensor PerSample(Tensor output, Tensor target)
    {
        CheckSameShape(output, target);
        if (!FromLogits && output.dtype is ScalarType.Float16 or ScalarType.BFloat16)
        {
            throw new ArgumentException(
                $"{Name} on {output.dtype} probabilities is unsafe: use from_logits (BinaryCrossentropy(fromLogits: true)) and drop the sigmoid, or return float32 outputs.");
        }

        var x = output.to(ScalarType.Float32);
        var y = target.to(ScalarType.Float32);
        return MeanPerSample(FromLogits
            ? nn.functional.binary_cross_entropy_with_logits(x, y, reduction: nn.Reduction.None)
            : nn.functional.binary_cross_entropy(x.clamp(1e-7, 1 - 1e-7), y, reduction: nn.Reduction.None));
    }
}
