using MixFit.Data;

namespace MixFit.Distributed;

/// <summary>
/// One rank's share of a batch source: every global batch (the same on every rank: same seed, same order) is cut into
/// <c>worldSize</c> contiguous slices and this rank yields slice <c>rank</c>. A global batch too small to give every rank
/// a sample is passed over on every rank alike, so the ranks stay in step.
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
    public IEnumerable<Batch> GetBatches(int epoch)
    {
        foreach (var batch in source.GetBatches(epoch))
        {
            long rows = batch.X.shape[0];
            if (rows < WorldSize)
            {
                continue;
            }

            long chunk = (rows + WorldSize - 1) / WorldSize;
            long start = Math.Min(rows, Rank * chunk);
            long length = Math.Min(chunk, rows - start);
            yield return new Batch(batch.X.narrow(0, start, length), batch.Y?.narrow(0, start, length))
            {
                SampleWeight = batch.SampleWeight?.narrow(0, start, length),
            };
        }
    }
}
