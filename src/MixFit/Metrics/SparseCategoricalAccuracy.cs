using static TorchSharp.torch;

namespace MixFit.Metrics;

/// <summary>Fraction of samples whose highest-scoring class equals the integer label.</summary>
public sealed class SparseCategoricalAccuracy : Metric
{
    /// <summary>Creates the metric, reported as <paramref name="name"/>.</summary>
    public SparseCategoricalAccuracy(string name = "sparse_categorical_accuracy")
        : base(name)
    {
    }

    /// <inheritdoc />
    public override Tensor BatchTotals(Tensor output, Tensor target, Tensor? sampleWeight) => SumAndCount(output.argmax(1).eq(target.to(ScalarType.Int64)), sampleWeight);
}
