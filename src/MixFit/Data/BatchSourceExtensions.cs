using static TorchSharp.torch;

namespace MixFit.Data;

/// <summary>Helpers for consuming an <see cref="IBatchSource"/>.</summary>
public static class BatchSourceExtensions
{
    /// <summary>
    /// The batches of <paramref name="epoch"/>, each inside its own dispose scope: the scope opens before the batch is
    /// produced and closes when the next one is requested (or the loop ends), so the batch and every tensor the loop body
    /// creates for it are freed deterministically. Move a tensor out with <c>MoveToOuterDisposeScope</c> to keep it.
    /// </summary>
    public static IEnumerable<Batch> ScopedBatches(this IBatchSource source, int epoch)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var batches = source.GetBatches(epoch).GetEnumerator();
        while (true)
        {
            using var scope = NewDisposeScope();
            if (!batches.MoveNext())
            {
                yield break;
            }

            yield return batches.Current;
        }
    }
}
