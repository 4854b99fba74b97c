using MixFit.Losses;
using MixFit.Metrics;
using static TorchSharp.torch;

namespace MixFit.Tests.Metrics;

public class MetricTests
{
    [Fact]
    public void Accuracy_resolves_from_the_loss_like_keras()
    {
        Assert.IsType<SparseCategoricalAccuracy>(Metric.FromName("accuracy", new SparseCategoricalCrossentropy()));
        Assert.IsType<CategoricalAccuracy>(Metric.FromName("accuracy", new CategoricalCrossentropy()));
        Assert.IsType<BinaryAccuracy>(Metric.FromName("acc", new BinaryCrossentropy()));
        Assert.Equal("accuracy", Metric.FromName("accuracy", new SparseCategoricalCrossentropy()).Name);
    }

    [Fact]
    public void Metrics_are_running_means_over_batches_weighted_by_size()
    {
        var metric = new SparseCategoricalAccuracy();
        var logits = tensor(new float[] { 3, 1, 0, 2, 1, 5 }).reshape(3, 2);
        var totals = metric.BatchTotals(logits, tensor(new long[] { 0, 0, 1 })).data<float>().ToArray();
        Assert.Equal(new[] { 2f, 3f }, totals);
        metric.Accumulate(totals[0], totals[1]);
        metric.Accumulate(1, 1);
        Assert.Equal(0.75, metric.Result(), 10);
        metric.Reset();
        Assert.Equal(0, metric.Result());
    }

    [Fact]
    public void Top_k_counts_a_hit_among_the_k_best_classes()
    {
        var logits = tensor(new float[] { 0.1f, 0.5f, 0.3f, 0.9f, 0.2f, 0.05f }).reshape(2, 3);
        var metric = new SparseTopKCategoricalAccuracy(k: 2);
        var totals = metric.BatchTotals(logits, tensor(new long[] { 2, 2 })).data<float>().ToArray();
        Assert.Equal(new[] { 1f, 2f }, totals);
    }

    [Fact]
    public void Binary_accuracy_thresholds_logits_at_zero()
    {
        var metric = Metric.FromName("binary_accuracy", new BinaryCrossentropy());
        var totals = metric.BatchTotals(tensor(new float[] { 2, -1, 0.5f, -3 }), tensor(new float[] { 1, 0, 0, 0 })).data<float>().ToArray();
        Assert.Equal(new[] { 3f, 4f }, totals);
    }

    [Fact]
    public void A_metric_that_cannot_read_the_losss_targets_is_refused_at_compile_time()
    {
        var sparse = Assert.Throws<ArgumentException>(() => Metric.FromName("categorical_accuracy", new SparseCategoricalCrossentropy()));
        Assert.Contains("\"categorical_accuracy\" compares one-hot target rows, but the loss takes integer labels (sparse_categorical_crossentropy); use \"accuracy\"", sparse.Message);
        Assert.Contains("binary_accuracy", Assert.Throws<ArgumentException>(() => Metric.FromName("binary_accuracy", new SparseCategoricalCrossentropy())).Message);
        Assert.Contains("integer labels", Assert.Throws<ArgumentException>(() => Metric.FromName("sparse_categorical_accuracy", new CategoricalCrossentropy())).Message);
        Assert.IsType<SparseTopKCategoricalAccuracy>(Metric.FromName("top_k_categorical_accuracy", new SparseCategoricalCrossentropy()));
    }
}
