using static TorchSharp.torch;

namespace MixFit.Losses;

/// <summary>
/// A training objective: the mean loss of a batch, computed in float32 from float32 model outputs.
/// </summary>
/// <remarks>
/// Names follow Keras (<see cref="FromName"/>). Outputs are converted to float32 by the precision strategy before
/// they reach a loss; a loss also casts defensively. Shape mismatches between outputs and targets are reported
/// with both shapes.
/// </remarks>
public abstract class Loss
{
    /// <summary>The valid loss names.</summary>
    public static IReadOnlyList<string> Names { get; } = new[]
    {
        "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy", "mean_squared_error", "mse", "mean_absolute_error", "mae",
    };

    /// <summary>The Keras name of this loss.</summary>
    public abstract string Name { get; }

    /// <summary>Whether the targets are class indices (sparse) rather than values or one-hot rows.</summary>
    public virtual bool SparseTargets => false;

    /// <summary>Creates a loss from its Keras name; <paramref name="fromLogits"/> applies to the cross-entropies.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static Loss FromName(string name, bool fromLogits = true, double labelSmoothing = 0) =>
        (name ?? "").Trim().ToLowerInvariant() switch
        {
            "sparse_categorical_crossentropy" => new SparseCategoricalCrossentropy(fromLogits, labelSmoothing),
            "categorical_crossentropy" => new CategoricalCrossentropy(fromLogits, labelSmoothing),
            "binary_crossentropy" => new BinaryCrossentropy(fromLogits),
            "mean_squared_error" or "mse" => new MeanSquaredError(),
            "mean_absolute_error" or "mae" => new MeanAbsoluteError(),
            _ => throw new ArgumentException($"Unknown loss \"{name}\". Valid losses: {string.Join(", ", Names)}.", nameof(name)),
        };

    /// <summary>
    /// The batch's loss, a 0-dim float32 tensor: the mean of <see cref="PerSample"/> or, with
    /// <paramref name="sampleWeight"/>, the sum of the weighted per-sample losses divided by the batch size (Keras'
    /// default <c>sum_over_batch_size</c> reduction, so a weight of 2 counts a sample twice).
    /// </summary>
    /// <param name="output">The model's outputs, batch-first.</param>
    /// <param name="target">The targets, batch-first.</param>
    /// <param name="sampleWeight">One weight per sample, shape [batch] (or [batch, 1]); null: every sample weighs 1.</param>
    /// <exception cref="ArgumentException">Outputs, targets or weights have incompatible shapes; the message names them.</exception>
    public Tensor Compute(Tensor output, Tensor target, Tensor? sampleWeight = null)
    {
        var perSample = PerSample(output, target);
        if (sampleWeight is null)
        {
            return perSample.mean();
        }

        return (perSample * SampleWeights.Check(sampleWeight, perSample.shape[0], Name).to(ScalarType.Float32, perSample.device)).mean();
    }

    /// <summary>Each sample's loss, a float32 tensor [batch] (values of several outputs per sample are averaged).</summary>
    /// <exception cref="ArgumentException">Outputs and targets have incompatible shapes; the message names both.</exception>
    public abstract Tensor PerSample(Tensor output, Tensor target);

    /// <summary>The mean over every dimension but the first: one value per sample.</summary>
    protected static Tensor MeanPerSample(Tensor elements) => SampleWeights.PerSample(elements);

    /// <summary>
    /// Checks that targets fit the outputs (class indices within range, shapes agree). Reads the targets' range on the
    /// host, so the trainer calls it once per fit, not every step.
    /// </summary>
    /// <exception cref="ArgumentException">The first problem found, naming the shapes or the offending value.</exception>
    public virtual void Validate(Tensor output, Tensor target) => CheckSameShape(output, target);

    /// <summary>Throws when the shapes differ.</summary>
    protected void CheckSameShape(Tensor output, Tensor target)
    {
        if (!output.shape.SequenceEqual(target.shape))
        {
            throw new ArgumentException(
                $"{Name}: model output has shape [{string.Join(",", output.shape)}] but targets have shape [{string.Join(",", target.shape)}].");
        }
    }
}
