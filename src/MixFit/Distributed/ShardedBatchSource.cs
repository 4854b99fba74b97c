using MixFit.Data;

namespace MixFit.Distributed;

/// <summary>
/// One rank's share of a batch source: every global batch (the same on every rank: same seed, same order) is cut into
/// <c>worldSize</c> contiguous slices as equal as can be (sizes differ by at most one) and this rank yields slice
/// <c>rank</c>. A global batch too small to give every rank a sample (the last, short one) is passed over on every
/// rank alike, so the ranks stay in step.
/// </summary>
public sealed class ShardedBatchSource : IBatchSource
{
    private readonly IBatchSource source;

    /// <summary>Shards <paramref name="source"/> for <paramref name="rank"/> of <paramref name="worldSize"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The rank is not in [0, worldSize).</exception>
    public ShardedBatchSource(IBatchSource source, int rank, int worldSize)
    {
        this.source = source ?? throw new ArgumentNullException(nameof(source));
        if (worldSize < 1 || rank < 0 || rank >= worldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"Rank {rank} is not one of the {worldSize} ranks.");
        }

        Rank = rank;
        WorldSize = worldSize;
    }

    /// <summary>This rank.</summary>
    public int Rank { get; }

    /// <summary>The number of ranks.</summary>
    public int WorldSize { get; }

    /// <inheritdoc />
    public int? BatchesPerEpoch => source.BatchesPerEpoch;

    /// <inheritdoc />
    public long? Count => source.Count is { } n ? (n + WorldSize - 1 - Rank) / WorldSize : null;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">No global batch of the epoch had a sample for every rank; the message says what batch size is needed.</exception>
    public IEnumerable<Batch> GetBatches(int epoch)
    {
        long largest = 0;
        bool any = false;
        foreach (var batch in source.GetBatches(epoch))
        {
            long rows = batch.X.shape[0];
            largest = Math.Max(largest, rows);
            if (rows < WorldSize)
            {
                continue;
            }

            // Sizes floor(rows / W) or one more: the first (rows mod W) ranks take the extra sample.
            long baseSize = rows / WorldSize, extra = rows % WorldSize;
            long start = (Rank * baseSize) + Math.Min(Rank, extra);
            long length = baseSize + (Rank < extra ? 1 : 0);
            any = true;
            yield return batch.Narrow(start, length);
        }

        if (!any && largest > 0)
        {
            throw new ArgumentException($"Global batches of {largest} samples cannot give each of the {WorldSize} ranks a sample: use a batch size of at least {WorldSize} (--batch-size is the global batch, shared by the ranks).");
        }
    }
}
