using static TorchSharp.torch;

namespace MixFit.Metrics;

/// <summary>Fraction of samples whose highest-scoring class is the target row's highest entry (one-hot targets).</summary>
public sealed class CategoricalAccuracy : Metric
{
    /// <summary>Creates the metric, reported as <paramref name="name"/>.</summary>
    public CategoricalAccuracy(string name = "categorical_accuracy")
        : base(name)
    {
    }

    /// <inheritdoc />
    public override Tensor BatchTotals(Tensor output, Tensor target, Tensor? sampleWeight) => SumAndCount(output.argmax(1).eq(target.argmax(1)), sampleWeight);
}
