namespace MixFit.Data;

/// <summary>A batch source whose batches pass through a function (resize, channel expansion) on the consuming thread.</summary>
/// <param name="inner">The source.</param>
/// <param name="map">Applied to every batch.</param>
public sealed class MappedBatchSource(IBatchSource inner, Func<Batch, Batch> map) : IBatchSource
{
    /// <inheritdoc />
    public int? BatchesPerEpoch => inner.BatchesPerEpoch;

    /// <inheritdoc />
    public long? Count => inner.Count;

    /// <inheritdoc />
    public IEnumerable<Batch> GetBatches(int epoch) => inner.GetBatches(epoch).Select(map);
}
