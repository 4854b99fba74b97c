using MixFit.Losses;
using MixFit.Metrics;
using static TorchSharp.torch;

namespace MixFit.Tests.Metrics;

public class ClassificationMetricTests
{
    private static double Run(Metric metric, Tensor output, Tensor target, Tensor? weight = null)
    {
        metric.Reset();
        metric.Accumulate(metric.BatchTotals(output, target, weight).to(ScalarType.Float64).data<double>().ToArray());
        return metric.Result();
    }

    /// <summary>The exact ROC AUC (Mann-Whitney: pairs ranked right, ties half), weighted, by brute force.</summary>
    private static double ExactAuc(float[] scores, bool[] positive, float[]? weights = null)
    {
        double correct = 0, pairs = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            for (int j = 0; j < scores.Length; j++)
            {
                if (positive[i] && !positive[j])
                {
                    double w = (weights?[i] ?? 1) * (weights?[j] ?? 1);
                    pairs += w;
                    correct += w * (scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0);
                }
            }
        }

        return correct / pairs;
    }

    [Fact]
    public void Binary_precision_and_recall_threshold_the_sigmoid_of_logits_at_one_half()
    {
        var loss = new BinaryCrossentropy(fromLogits: true);
        // Logits > 0 predict positive: predictions 1 1 0 1 0 against labels 1 0 1 1 0 -> TP 2, FP 1, FN 1.
        var logits = tensor(new float[] { 2, 0.5f, -1, 3, -2 });
        var labels = tensor(new float[] { 1, 0, 1, 1, 0 });
        Assert.Equal(2.0 / 3, Run(Metric.FromName("precision", loss), logits, labels), 12);
        Assert.Equal(2.0 / 3, Run(Metric.FromName("recall", loss), logits, labels), 12);

        // Weights count samples: the false positive weighs 3, the false negative 0.
        var weights = tensor(new float[] { 1, 3, 0, 1, 1 });
        Assert.Equal(2.0 / 5, Run(Metric.FromName("precision", loss), logits, labels, weights), 6);
        Assert.Equal(1.0, Run(Metric.FromName("recall", loss), logits, labels, weights), 6);
    }

    [Fact]
    public void Class_precision_and_recall_are_macro_averages_over_the_classes_that_occur()
    {
        var loss = new SparseCategoricalCrossentropy();
        // Predicted (argmax) 0 0 1 2 2 2 against labels 0 1 1 2 0 2; class 3 never occurs and is not averaged.
        var predicted = new long[] { 0, 0, 1, 2, 2, 2 };
        var logits = nn.functional.one_hot(tensor(predicted), 4).to(ScalarType.Float32) * 5;
        var labels = tensor(new long[] { 0, 1, 1, 2, 0, 2 });

        // Per class precision: 0: 1/2, 1: 1/1, 2: 2/3; recall: 0: 1/2, 1: 1/2, 2: 2/2 (scikit-learn's average="macro").
        Assert.Equal((0.5 + 1 + 2.0 / 3) / 3, Run(Metric.FromName("precision", loss), logits, labels), 6);
        Assert.Equal((0.5 + 0.5 + 1) / 3, Run(Metric.FromName("recall", loss), logits, labels), 6);

        // One-hot targets under categorical cross-entropy give the same numbers.
        var oneHot = nn.functional.one_hot(labels, 4).to(ScalarType.Float32);
        Assert.Equal((0.5 + 1 + 2.0 / 3) / 3, Run(Metric.FromName("precision", new CategoricalCrossentropy()), logits, oneHot), 6);
    }

    [Fact]
    public void Auc_equals_the_exact_rank_statistic_when_scores_fall_in_distinct_bins()
    {
        var loss = new BinaryCrossentropy(fromLogits: false);
        var scores = new float[] { 0.91f, 0.12f, 0.55f, 0.47f, 0.83f, 0.02f, 0.66f, 0.38f };
        var positive = new[] { true, false, true, false, false, false, true, true };
        var labels = tensor(positive.Select(p => p ? 1f : 0f).ToArray());
        Assert.Equal(ExactAuc(scores, positive), Run(Metric.FromName("auc", loss), tensor(scores), labels), 12);

        var weights = new float[] { 1, 2, 0.5f, 3, 1, 1, 2, 1 };
        Assert.Equal(ExactAuc(scores, positive, weights), Run(Metric.FromName("auc", loss), tensor(scores), labels, tensor(weights)), 6);
    }

    [Fact]
    public void Class_auc_is_the_one_vs_rest_macro_average_of_softmax_probabilities_within_binning_error()
    {
        using var generator = new TorchSharp.torch.Generator(7);
        var labels = randint(0, 5, new long[] { 2000 }, generator: generator);
        // Informative but imperfect logits: the true class gets +1.5 on top of unit noise.
        var logits = randn(new long[] { 2000, 5 }, generator: generator) + 1.5 * nn.functional.one_hot(labels, 5).to(ScalarType.Float32);
        var probabilities = logits.softmax(1);
        var labelArray = labels.data<long>().ToArray();
        double exact = Enumerable.Range(0, 5).Average(c =>
            ExactAuc(probabilities.select(1, c).data<float>().ToArray(), labelArray.Select(l => l == c).ToArray()));

        var metric = Metric.FromName("auc", new SparseCategoricalCrossentropy(fromLogits: true));
        // Two batches accumulate to the same state as one.
        metric.Accumulate(metric.BatchTotals(logits.narrow(0, 0, 1200), labels.narrow(0, 0, 1200), null).to(ScalarType.Float64).data<double>().ToArray());
        metric.Accumulate(metric.BatchTotals(logits.narrow(0, 1200, 800), labels.narrow(0, 1200, 800), null).to(ScalarType.Float64).data<double>().ToArray());
        Assert.InRange(exact, 0.7, 0.95);
        Assert.Equal(exact, metric.Result(), 2);
        Assert.Equal(Run(Metric.FromName("auc", new SparseCategoricalCrossentropy()), logits, labels), metric.Result(), 6);
    }

    [Fact]
    public void Weighted_accuracy_is_the_weighted_mean_over_samples()
    {
        var metric = Metric.FromName("accuracy", new SparseCategoricalCrossentropy());
        var logits = tensor(new float[] { 3, 1, 0, 2, 1, 5 }).reshape(3, 2);
        // Right, wrong, right with weights 1, 2, 5 -> 6 / 8.
        Assert.Equal(0.75, Run(metric, logits, tensor(new long[] { 0, 0, 1 }), tensor(new float[] { 1, 2, 5 })), 6);
    }

    [Fact]
    public void Weights_that_are_not_one_per_sample_are_refused_with_both_shapes()
    {
        var metric = Metric.FromName("precision", new SparseCategoricalCrossentropy());
        var error = Assert.Throws<ArgumentException>(() => metric.BatchTotals(zeros(4, 3), zeros(4, ScalarType.Int64), ones(3)));
        Assert.Contains("shape [4], got [3]", error.Message);
        Assert.Contains("precision", error.Message);
    }
}
