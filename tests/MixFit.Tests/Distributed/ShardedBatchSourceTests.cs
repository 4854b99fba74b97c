using MixFit.Data;
using MixFit.Distributed;
using static TorchSharp.torch;

namespace MixFit.Tests.Distributed;

public class ShardedBatchSourceTests
{
    private static long[][] Rows(IBatchSource source) =>
        source.GetBatches(0).Select(b => b.Y!.data<long>().ToArray()).ToArray();

    [Fact]
    public void Every_global_batch_is_split_as_evenly_as_it_can_be_and_the_shards_cover_it_once()
    {
        // 10 samples in global batches of 4: [0..3], [4..7], [8, 9]; three ranks.
        var source = new TensorBatchSource(zeros(10, 2), arange(10, ScalarType.Int64), 4);
        var shards = Enumerable.Range(0, 3).Select(r => Rows(new ShardedBatchSource(source, r, 3))).ToArray();
        Assert.Equal(new[] { new long[] { 0, 1 }, new long[] { 4, 5 } }, shards[0]);                       // 4 = 2 + 1 + 1
        Assert.Equal(new[] { new long[] { 2 }, new long[] { 6 } }, shards[1]);
        Assert.Equal(new[] { new long[] { 3 }, new long[] { 7 } }, shards[2]);                              // the last batch of 2 < 3 ranks: passed over by all
        Assert.Equal(8, shards.SelectMany(s => s).SelectMany(r => r).Distinct().Count());
    }

    [Fact]
    public void Batches_too_small_for_every_rank_are_a_clear_error()
    {
        var source = new TensorBatchSource(zeros(6, 2), arange(6, ScalarType.Int64), 1);
        var error = Assert.Throws<ArgumentException>(() => Rows(new ShardedBatchSource(source, 0, 2)));
        Assert.Contains("Global batches of 1 samples cannot give each of the 2 ranks a sample: use a batch size of at least 2", error.Message);
    }
}
