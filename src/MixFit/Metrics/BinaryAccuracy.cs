using static TorchSharp.torch;

namespace MixFit.Metrics;

/// <summary>Fraction of elements on the right side of a threshold (0 for logits, 0.5 for probabilities).</summary>
public sealed class BinaryAccuracy : Metric
{
    /// <summary>Creates the metric, reported as <paramref name="name"/>.</summary>
    public BinaryAccuracy(string name = "binary_accuracy", double threshold = 0.5)
        : base(name) => Threshold = threshold;

    /// <summary>Outputs above it count as class 1.</summary>
    public double Threshold { get; }

    /// <inheritdoc />
    public override Tensor BatchTotals(Tensor output, Tensor target, Tensor? sampleWeight) =>
        SumAndCount(output.to(ScalarType.Float32).gt(Threshold).eq(target.to(ScalarType.Float32).gt(0.5)), sampleWeight);
}
