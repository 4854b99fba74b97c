namespace MixFit.Metrics;

/// <summary>
/// Precision: true positives / predicted positives, binary or macro-averaged over classes (see
/// <see cref="ConfusionCountsMetric"/>). Compile it by name: <c>"precision"</c>.
/// </summary>
public sealed class Precision : ConfusionCountsMetric
{
    /// <summary>Creates the metric for outputs compiled with <paramref name="loss"/> (which decides binary or per-class, logits or probabilities).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is not in (0, 1).</exception>
    public Precision(MixFit.Losses.Loss loss, string name = "precision", double threshold = 0.5)
        : this(name, ClassScores.FromLoss(loss ?? throw new ArgumentNullException(nameof(loss))), threshold)
    {
    }

    internal Precision(string name, ClassScores scores, double threshold = 0.5)
        : base(name, scores, threshold)
    {
    }

    private protected override double Score(double truePositives, double predicted, double actual) => predicted == 0 ? 0 : truePositives / predicted;
}
