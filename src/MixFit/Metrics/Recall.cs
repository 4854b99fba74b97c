namespace MixFit.Metrics;

/// <summary>
/// Recall: true positives / actual positives, binary or macro-averaged over classes (see
/// <see cref="ConfusionCountsMetric"/>). Compile it by name: <c>"recall"</c>.
/// </summary>
public sealed class Recall : ConfusionCountsMetric
{
    /// <summary>Creates the metric for outputs compiled with <paramref name="loss"/> (which decides binary or per-class, logits or probabilities).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is not in (0, 1).</exception>
    public Recall(MixFit.Losses.Loss loss, string name = "recall", double threshold = 0.5)
        : this(name, ClassScores.FromLoss(loss ?? throw new ArgumentNullException(nameof(loss))), threshold)
    {
    }

    internal Recall(string name, ClassScores scores, double threshold = 0.5)
        : base(name, scores, threshold)
    {
    }

    private protected override double Score(double truePositives, double predicted, double actual) => actual == 0 ? 0 : truePositives / actual;
}
