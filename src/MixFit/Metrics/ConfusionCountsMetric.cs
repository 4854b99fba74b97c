using static TorchSharp.torch;

namespace MixFit.Metrics;

/// <summary>
/// What <see cref="Precision"/> and <see cref="Recall"/> share: weighted counts of true positives, predicted
/// positives and actual positives per class, accumulated over the epoch.
/// </summary>
/// <remarks>
/// <para>Binary outputs (binary cross-entropy, or one output column): an element is predicted positive when its
/// probability exceeds <see cref="Threshold"/> (default 0.5; logits go through a sigmoid first), and the counts pool
/// every element (Keras' <c>Precision</c>/<c>Recall</c>, micro-averaged over the labels of multi-label outputs).</para>
/// <para>Class outputs ([batch, classes] with sparse or one-hot targets): the predicted class is the argmax, each
/// class is scored one-vs-rest and the result is the unweighted mean over the classes that occur in the targets or
/// the predictions (scikit-learn's <c>average="macro"</c>; a class with no predicted or no actual positives scores 0).</para>
/// </remarks>
public abstract class ConfusionCountsMetric : Metric
{
    private protected ConfusionCountsMetric(string name, ClassScores scores, double threshold)
        : base(name)
    {
        if (!(threshold > 0 && threshold < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, $"{name}: the threshold must be in (0, 1), got {threshold}.");
        }

        Scores = scores;
        Threshold = threshold;
    }

    /// <summary>The probability above which a binary output counts as positive. Default 0.5.</summary>
    public double Threshold { get; }

    private protected ClassScores Scores { get; }

    /// <summary>[true positives per class, predicted positives per class, actual positives per class] (one class when binary).</summary>
    public sealed override Tensor BatchTotals(Tensor output, Tensor target, Tensor? sampleWeight)
    {
        var weights = ClassScores.Weights(sampleWeight, output, Name);
        Tensor predicted, actual;
        if (Scores.IsBinary(output))
        {
            var (probabilities, positive, columnWeights) = Scores.BinaryColumns(output, target, weights);
            predicted = probabilities.gt(Threshold).to(ScalarType.Float32);
            actual = positive.to(ScalarType.Float32);
            weights = columnWeights;
        }
        else
        {
            long classes = output.shape[1];
            predicted = nn.functional.one_hot(output.argmax(1), classes).to(ScalarType.Float32);
            actual = nn.functional.one_hot(ClassScores.TargetClasses(output, target).to(output.device), classes).to(ScalarType.Float32);
        }

        return cat(new[] { (weights * predicted * actual).sum(0L), (weights * predicted).sum(0L), (weights * actual).sum(0L) }, 0);
    }

    /// <inheritdoc />
    public sealed override double Result()
    {
        var state = State;
        int classes = state.Count / 3;
        double sum = 0;
        int scored = 0;
        for (int c = 0; c < classes; c++)
        {
            double truePositives = state[c], predicted = state[classes + c], actual = state[2 * classes + c];
            if (classes > 1 && predicted == 0 && actual == 0)
            {
                continue;
            }

            sum += Score(truePositives, predicted, actual);
            scored++;
        }

        return scored == 0 ? 0 : sum / scored;
    }

    /// <summary>One class's score from its weighted counts (0 where the denominator is 0, as Keras' <c>divide_no_nan</c>).</summary>
    private protected abstract double Score(double truePositives, double predicted, double actual);
}
