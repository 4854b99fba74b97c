using MixFit.Losses;
using static TorchSharp.torch;

namespace MixFit.Metrics;

/// <summary>
/// A running mean over an epoch (Keras semantics): each batch contributes a sum and a count, computed in float32 on
/// the device; <see cref="Result"/> is total / count.
/// </summary>
/// <remarks>
/// The trainer gathers every metric's batch totals into one tensor and reads it once per step, so the number of
/// device-to-host transfers does not grow with the number of metrics.
/// </remarks>
public abstract class Metric
{
    private double total;
    private double count;

    /// <summary>Creates a metric reported as <paramref name="name"/>.</summary>
    protected Metric(string name) => Name = name;

    /// <summary>The valid metric names.</summary>
    public static IReadOnlyList<string> Names { get; } = new[]
    {
        "accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    };

    /// <summary>The name in logs and the progress bar.</summary>
    public string Name { get; }

    /// <summary>The mean so far (0 before any update).</summary>
    public double Result() => count == 0 ? 0 : total / count;

    /// <summary>Forgets all updates (start of an epoch).</summary>
    public void Reset() => total = count = 0;

    /// <summary>Adds a batch's totals read back from the device.</summary>
    public void Accumulate(double batchTotal, double batchCount)
    {
        total += batchTotal;
        count += batchCount;
    }

    /// <summary>The batch's contribution as a float32 tensor [sum, count] on the device (no host sync).</summary>
    public abstract Tensor BatchTotals(Tensor output, Tensor target);

    /// <summary>
    /// Creates a metric from its Keras name. <c>accuracy</c> resolves from the loss, as Keras does: sparse categorical
    /// for sparse targets, binary for binary cross-entropy, categorical otherwise.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static Metric FromName(string name, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        string key = (name ?? "").Trim().ToLowerInvariant();
        return key switch
        {
            "accuracy" or "acc" => loss switch
            {
                { SparseTargets: true } => new SparseCategoricalAccuracy(key),
                BinaryCrossentropy b => new BinaryAccuracy(key, b.FromLogits ? 0 : 0.5),
                _ => new CategoricalAccuracy(key),
            },
            "sparse_categorical_accuracy" => new SparseCategoricalAccuracy(key),
            "categorical_accuracy" => new CategoricalAccuracy(key),
            "binary_accuracy" => new BinaryAccuracy(key, loss is BinaryCrossentropy { FromLogits: false } ? 0.5 : 0),
            "sparse_top_k_categorical_accuracy" => new SparseTopKCategoricalAccuracy(key),
            "top_k_categorical_accuracy" => loss.SparseTargets ? new SparseTopKCategoricalAccuracy(key) : new TopKCategoricalAccuracy(key),
            _ => throw new ArgumentException($"Unknown metric \"{name}\". Valid metrics: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    /// <summary>[sum of <paramref name="perSample"/>, its length] as float32.</summary>
    protected static Tensor SumAndCount(Tensor perSample) =>
        stack(new[] { perSample.to(ScalarType.Float32).sum(), full(Array.Empty<long>(), (float)perSample.numel(), ScalarType.Float32, perSample.device) });
}
