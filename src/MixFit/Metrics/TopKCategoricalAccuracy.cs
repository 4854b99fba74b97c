using static TorchSharp.torch;

namespace MixFit.Metrics;

/// <summary>Fraction of samples whose one-hot target class is among the <see cref="K"/> highest-scoring classes (default 5).</summary>
public sealed class TopKCategoricalAccuracy : Metric
{
    /// <summary>Creates the metric.</summary>
    public TopKCategoricalAccuracy(string name = "top_k_categorical_accuracy", int k = 5)
        : base(name) => K = k >= 1 ? k : throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");

    /// <summary>How many top classes count as a hit.</summary>
    public int K { get; }

    /// <inheritdoc />
    public override Tensor BatchTotals(Tensor output, Tensor target, Tensor? sampleWeight)
    {
        int k = (int)Math.Min(K, output.shape[1]);
        var top = output.topk(k, 1).indexes;
        return SumAndCount(top.eq(target.argmax(1).unsqueeze(1)).any(1), sampleWeight);
    }
}
