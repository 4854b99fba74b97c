using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Data;

/// <summary>
/// Batches over in-memory tensors, optionally shuffled with a seed that is re-derived every epoch
/// (<c>seed + epoch</c>): reproducible, and different each epoch.
/// </summary>
public sealed class TensorBatchSource : IBatchSource
{
    /// <summary>Creates the source.</summary>
    /// <param name="x">The inputs, batch-first.</param>
    /// <param name="y">The targets, or null (prediction).</param>
    /// <param name="batchSize">Samples per batch.</param>
    /// <param name="shuffle">A new order every epoch.</param>
    /// <param name="seed">The base seed of the shuffle.</param>
    /// <param name="dropRemainder">Drop a last, smaller batch.</param>
    /// <param name="sampleWeight">One weight per sample ([samples]), batched with the data; null: none.</param>
    /// <exception cref="ArgumentException">Empty data, mismatched first dimensions, or a non-positive batch size; the message gives the values.</exception>
    public TensorBatchSource(Tensor x, Tensor? y, int batchSize, bool shuffle = false, long seed = 0, bool dropRemainder = false, Tensor? sampleWeight = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.shape.Length == 0 || x.shape[0] == 0)
        {
            throw new ArgumentException("The dataset is empty (0 samples).", nameof(x));
        }

        if (y is not null && (y.shape.Length == 0 || y.shape[0] != x.shape[0]))
        {
            throw new ArgumentException(
                $"Inputs have {x.shape[0]} samples but targets have shape [{string.Join(",", y.shape)}]; the first dimensions must match.", nameof(y));
        }

        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"The batch size must be at least 1, got {batchSize}.");
        }

        if (sampleWeight is not null && (sampleWeight.dim() != 1 || sampleWeight.shape[0] != x.shape[0]))
        {
            throw new ArgumentException(
                $"Inputs have {x.shape[0]} samples but sample weights have shape [{string.Join(",", sampleWeight.shape)}]; expected [{x.shape[0]}].", nameof(sampleWeight));
        }

        X = x;
        Y = y;
        SampleWeight = sampleWeight;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropRemainder = dropRemainder;
    }

    /// <summary>All inputs.</summary>
    public Tensor X { get; }

    /// <summary>All targets, or null.</summary>
    public Tensor? Y { get; }

    /// <summary>The per-sample weights, or null.</summary>
    public Tensor? SampleWeight { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits the samples in a new random order.</summary>
    public bool Shuffle { get; }

    /// <summary>The base seed of the shuffle.</summary>
    public long Seed { get; }

    /// <summary>Whether a last, smaller batch is dropped.</summary>
    public bool DropRemainder { get; }

    /// <inheritdoc />
    public long? Count => X.shape[0];

    /// <inheritdoc />
    public int? BatchesPerEpoch => (int)(DropRemainder ? X.shape[0] / BatchSize : (X.shape[0] + BatchSize - 1) / BatchSize);

    /// <summary>Splits off the last <paramref name="fraction"/> of the samples (before any shuffling, as Keras does).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The fraction is not in (0, 1), or leaves either part empty.</exception>
    public (TensorBatchSource Train, TensorBatchSource Validation) SplitLast(double fraction, int validationBatchSize)
    {
        if (!(fraction > 0 && fraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, $"The validation split must be in (0, 1), got {fraction}.");
        }

        long total = X.shape[0];
        long validation = (long)Math.Floor(total * fraction);
        if (validation < 1 || validation >= total)
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, $"A validation split of {fraction} of {total} samples leaves an empty part.");
        }

        long train = total - validation;
        return (
            new TensorBatchSource(X.narrow(0, 0, train), Y?.narrow(0, 0, train), BatchSize, Shuffle, Seed, DropRemainder, SampleWeight?.narrow(0, 0, train)),
            new TensorBatchSource(X.narrow(0, train, validation), Y?.narrow(0, train, validation), validationBatchSize, sampleWeight: SampleWeight?.narrow(0, train, validation)));
    }

    /// <inheritdoc />
    public IEnumerable<Batch> GetBatches(int epoch)
    {
        long total = X.shape[0];
        Tensor? order = null;
        if (Shuffle)
        {
            using var generator = new Generator((ulong)(Seed + epoch));
            order = randperm(total, generator: generator).DetachFromDisposeScope();
        }

        var all = new Batch(X, Y) { SampleWeight = SampleWeight };
        try
        {
            for (long start = 0; start < total; start += BatchSize)
            {
                long size = Math.Min(BatchSize, total - start);
                if (size < BatchSize && DropRemainder)
                {
                    yield break;
                }

                if (order is null)
                {
                    yield return all.Narrow(start, size);
                }
                else
                {
                    yield return all.Select(order.narrow(0, start, size));
                }
            }
        }
        finally
        {
            order?.Dispose();
        }
    }
}
