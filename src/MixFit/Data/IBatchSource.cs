namespace MixFit.Data;

/// <summary>
/// Where <c>Fit</c>, <c>Evaluate</c> and <c>Predict</c> get their batches: in-memory tensors
/// (<see cref="TensorBatchSource"/>) or a streaming pipeline over files.
/// </summary>
/// <remarks>
/// A source is enumerated once per epoch. <see cref="GetBatches"/> receives the epoch so a source can reshuffle
/// deterministically (same seed and epoch, same order), which makes an interrupted and resumed run see exactly
/// the batches an uninterrupted one would. Tensors it yields are created inside the trainer's per-step dispose
/// scope and freed with it.
/// </remarks>
public interface IBatchSource
{
    /// <summary>Number of batches in one epoch, or null when unknown (a stream).</summary>
    int? BatchesPerEpoch { get; }

    /// <summary>Number of samples, or null when unknown.</summary>
    long? Count { get; }

    /// <summary>The batches of epoch <paramref name="epoch"/> (0-based).</summary>
    IEnumerable<Batch> GetBatches(int epoch);
}
