using MixFit.Data;
using MixFit.Distributed;
using static TorchSharp.torch;

namespace MixFit.Tests.Data;

/// <summary>
/// The shuffle of every in-memory batch source: a new full permutation each epoch, and always the same one for the
/// same seed and epoch (what resuming at an epoch relies on). The samples are their own indices, so the batches
/// of an epoch spell out its visiting order.
/// </summary>
public class TensorBatchSourceTests
{
    private const int Samples = 64;

    private static long[] Order(IBatchSource source, int epoch) =>
        source.GetBatches(epoch).SelectMany(b => b.X.data<long>().ToArray()).ToArray();

    private static TensorBatchSource Indices(bool shuffle, long seed = 5) => new(arange(Samples), arange(Samples), batchSize: 10, shuffle: shuffle, seed: seed);

    public static TheoryData<string> Sources => new() { "tensor", "mapped", "sharded" };

    /// <summary>Each source over the same shuffled indices; a sharded source's order is its ranks' shares in rank order.</summary>
    private static Func<int, long[]> Epochs(string kind, long seed = 5) => kind switch
    {
        "tensor" => epoch => Order(Indices(true, seed), epoch),
        "mapped" => epoch => Order(new MappedBatchSource(Indices(true, seed), b => b), epoch),
        "sharded" => epoch => ShardedOrder(Indices(true, seed), epoch),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "tensor, mapped or sharded"),
    };

    /// <summary>Two ranks' shares interleaved back into the global batches they were cut from.</summary>
    private static long[] ShardedOrder(IBatchSource source, int epoch)
    {
        var ranks = Enumerable.Range(0, 2).Select(r => new ShardedBatchSource(source, r, 2).GetBatches(epoch).Select(b => b.X.data<long>().ToArray()).ToList()).ToList();
        Assert.Equal(ranks[0].Count, ranks[1].Count);
        return ranks[0].Zip(ranks[1], (a, b) => a.Concat(b)).SelectMany(x => x).ToArray();
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void Each_epoch_is_a_new_full_permutation_and_an_epoch_always_gets_the_same_one(string kind)
    {
        var epochs = Epochs(kind);
        var first = epochs(0);
        var second = epochs(1);

        Assert.Equal(Enumerable.Range(0, Samples).Select(i => (long)i), first.Order());
        Assert.Equal(Enumerable.Range(0, Samples).Select(i => (long)i), second.Order());
        Assert.NotEqual(first, second);
        Assert.NotEqual(Enumerable.Range(0, Samples).Select(i => (long)i), first);
        Assert.Equal(first, epochs(0));
        Assert.Equal(second, epochs(1));
        // A fresh source with the same seed gives the same epochs (a resumed run); another seed gives other ones.
        Assert.Equal(second, Epochs(kind)(1));
        Assert.NotEqual(second, Epochs(kind, seed: 6)(1));
    }

    [Fact]
    public void Without_shuffle_every_epoch_visits_the_samples_in_order()
    {
        var source = Indices(shuffle: false);
        Assert.Equal(Enumerable.Range(0, Samples).Select(i => (long)i), Order(source, 0));
        Assert.Equal(Order(source, 0), Order(source, 3));
    }
}
