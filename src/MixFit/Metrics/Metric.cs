using MixFit.Losses;
using static TorchSharp.torch;

namespace MixFit.Metrics;

/// <summary>
/// A metric accumulated over an epoch (Keras semantics). Each batch contributes a small float32 state vector
/// computed on the device (<see cref="BatchTotals(Tensor, Tensor, Tensor?)"/>): [weighted sum, weighted count] for the
/// means over samples, per-class counts for <see cref="Precision"/> and <see cref="Recall"/>, histograms for
/// <see cref="Auc"/>; the host adds the vectors and <see cref="Result"/> turns the total into the value.
/// </summary>
/// <remarks>
/// The trainer gathers every metric's batch vector into one tensor and reads it once per step, so the number of
/// device-to-host transfers does not grow with the number of metrics.
/// </remarks>
public abstract class Metric
{
    private double[] state = Array.Empty<double>();

    /// <summary>Creates a metric reported as <paramref name="name"/>.</summary>
    protected Metric(string name) => Name = name;

    /// <summary>The valid metric names.</summary>
    public static IReadOnlyList<string> Names { get; } = new[]
    {
        "accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
        "precision", "recall", "auc",
    };

    /// <summary>The name in logs and the progress bar.</summary>
    public string Name { get; }

    /// <summary>The weighted number of samples behind a mean over samples (its state's second value; 0 before any update).</summary>
    internal double Weight => state.Length >= 2 ? state[1] : 0;

    /// <summary>The state added up so far (empty before any update).</summary>
    protected IReadOnlyList<double> State => state;

    /// <summary>The value so far; for a mean over samples total / count (0 before any update).</summary>
    public virtual double Result() => state.Length < 2 || state[1] == 0 ? 0 : state[0] / state[1];

    /// <summary>Forgets all updates (start of an epoch).</summary>
    public void Reset() => state = Array.Empty<double>();

    /// <summary>Adds a batch's [sum, count] read back from the device.</summary>
    public void Accumulate(double batchTotal, double batchCount) => Accumulate(new[] { batchTotal, batchCount });

    /// <summary>Adds a batch's state vector read back from the device (the values of <see cref="BatchTotals(Tensor, Tensor, Tensor?)"/>).</summary>
    /// <exception cref="ArgumentException">The vector's length differs from the earlier batches' (e.g. a different number of classes).</exception>
    public void Accumulate(ReadOnlySpan<double> batch)
    {
        if (state.Length == 0)
        {
            state = new double[batch.Length];
        }
        else if (state.Length != batch.Length)
        {
            throw new ArgumentException($"{Name}: a batch state of {batch.Length} values after batches of {state.Length} (did the number of classes change?).", nameof(batch));
        }

        for (int i = 0; i < batch.Length; i++)
        {
            state[i] += batch[i];
        }
    }

    /// <summary>The batch's unweighted contribution (no host sync).</summary>
    public Tensor BatchTotals(Tensor output, Tensor target) => BatchTotals(output, target, null);

    /// <summary>
    /// The batch's contribution as a 1-dim float32 tensor on the device (no host sync); with
    /// <paramref name="sampleWeight"/> ([batch]) each sample counts with its weight, as Keras' <c>update_state(y_true, y_pred, sample_weight)</c>.
    /// </summary>
    public abstract Tensor BatchTotals(Tensor output, Tensor target, Tensor? sampleWeight);

    /// <summary>
    /// Creates a metric from its Keras name. <c>accuracy</c> resolves from the loss, as Keras does: sparse categorical
    /// for sparse targets, binary for binary cross-entropy, categorical otherwise. <c>precision</c>, <c>recall</c> and
    /// <c>auc</c> are binary under binary cross-entropy and macro-averaged over classes otherwise.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static Metric FromName(string name, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        string key = (name ?? "").Trim().ToLowerInvariant();
        CheckFits(key, loss);
        var scores = ClassScores.FromLoss(loss);
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
            "precision" => new Precision(key, scores),
            "recall" => new Recall(key, scores),
            "auc" => new Auc(key, scores),
            _ => throw new ArgumentException($"Unknown metric \"{name}\". Valid metrics: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    /// <summary>Refuses a metric that cannot read the targets the loss implies (it would fail inside libtorch at the first batch).</summary>
    private static void CheckFits(string key, Loss loss)
    {
        string? problem = key switch
        {
            "categorical_accuracy" when loss.SparseTargets => "compares one-hot target rows, but the loss takes integer labels",
            "sparse_categorical_accuracy" or "sparse_top_k_categorical_accuracy" when loss is CategoricalCrossentropy => "takes integer labels, but the loss takes one-hot target rows",
            "binary_accuracy" when loss is CrossentropyLoss => "scores one yes/no output per element, but the loss scores a class per sample",
            _ => null,
        };
        if (problem is not null)
        {
            throw new ArgumentException($"Metric \"{key}\" {problem} ({loss.Name}); use \"accuracy\", which follows the loss.", "name");
        }
    }

    /// <summary>[sum of <paramref name="perSample"/> (times the weights), number of samples (or sum of weights)] as float32.</summary>
    protected Tensor SumAndCount(Tensor perSample, Tensor? sampleWeight = null)
    {
        var values = perSample.to(ScalarType.Float32);
        if (sampleWeight is null)
        {
            return stack(new[] { values.sum(), full(Array.Empty<long>(), (float)values.numel(), ScalarType.Float32, values.device) });
        }

        var perRow = SampleWeights.PerSample(values);
        var weights = SampleWeights.Check(sampleWeight, perRow.shape[0], Name).to(ScalarType.Float32, values.device);
        return stack(new[] { (perRow * weights).sum(), weights.sum() });
    }
}
