using static TorchSharp.torch;

namespace MixFit.Metrics;

/// <summary>
/// Area under the ROC curve, accumulated over the epoch from histograms of the predicted probabilities of positives
/// and negatives in <see cref="Bins"/> equal bins of [0, 1] (Keras' <c>AUC</c> with <c>num_thresholds=200</c>: the
/// trapezoidal ROC through the bin edges; two scores in the same bin count as a tie, half a correct ranking).
/// Compile it by name: <c>"auc"</c>.
/// </summary>
/// <remarks>
/// Binary outputs pool every element. Class outputs ([batch, classes], softmax probabilities when from logits) are
/// scored one-vs-rest per class and averaged over the classes that have both positives and negatives
/// (scikit-learn's <c>roc_auc_score(multi_class="ovr", average="macro")</c>). Where no class has both, the result is 0.
/// The per-batch state is 2 x <see cref="Bins"/> values per class, read with the step's other logs in one transfer.
/// </remarks>
public sealed class Auc : Metric
{
    /// <summary>Creates the metric for outputs compiled with <paramref name="loss"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bins"/> is below 2.</exception>
    public Auc(MixFit.Losses.Loss loss, string name = "auc", int bins = 200)
        : this(name, ClassScores.FromLoss(loss ?? throw new ArgumentNullException(nameof(loss))), bins)
    {
    }

    internal Auc(string name, ClassScores scores, int bins = 200)
        : base(name)
    {
        Bins = bins >= 2 ? bins : throw new ArgumentOutOfRangeException(nameof(bins), bins, $"{name}: at least 2 bins are needed, got {bins}.");
        Scores = scores;
    }

    /// <summary>The number of probability bins. Default 200.</summary>
    public int Bins { get; }

    private ClassScores Scores { get; }

    /// <summary>Per class: the weighted histogram of negatives' probabilities, then of positives' ([classes x 2 x bins]).</summary>
    public override Tensor BatchTotals(Tensor output, Tensor target, Tensor? sampleWeight)
    {
        var weights = ClassScores.Weights(sampleWeight, output, Name);
        Tensor probabilities, positive;
        if (Scores.IsBinary(output))
        {
            (probabilities, positive, weights) = Scores.BinaryColumns(output, target, weights);
        }
        else
        {
            probabilities = Scores.Probabilities(output);
            positive = nn.functional.one_hot(ClassScores.TargetClasses(output, target).to(output.device), output.shape[1]).to(ScalarType.Bool);
            weights = weights.expand(probabilities.shape);
        }

        long classes = probabilities.shape[1];
        var bin = (probabilities.clamp(0, 1) * Bins).floor().to(ScalarType.Int64).clamp(0, Bins - 1);
        var classOffset = arange(classes, ScalarType.Int64, probabilities.device).mul(2L * Bins).unsqueeze(0);
        var index = bin + positive.to(ScalarType.Int64) * Bins + classOffset;
        var histogram = zeros(classes * 2 * Bins, ScalarType.Float32, probabilities.device);
        return histogram.index_add_(0, index.reshape(-1), weights.reshape(-1).contiguous(), 1);
    }

    /// <inheritdoc />
    public override double Result()
    {
        var state = State;
        int classes = state.Count / (2 * Bins);
        double sum = 0;
        int scored = 0;
        for (int c = 0; c < classes; c++)
        {
            int negatives = c * 2 * Bins, positives = negatives + Bins;
            double totalNegatives = 0, totalPositives = 0;
            for (int b = 0; b < Bins; b++)
            {
                totalNegatives += state[negatives + b];
                totalPositives += state[positives + b];
            }

            if (totalNegatives <= 0 || totalPositives <= 0)
            {
                continue;
            }

            // P(a positive scores above a negative) + half P(same bin).
            double below = 0, correct = 0;
            for (int b = 0; b < Bins; b++)
            {
                correct += state[positives + b] * (below + 0.5 * state[negatives + b]);
                below += state[negatives + b];
            }

            sum += correct / (totalPositives * totalNegatives);
            scored++;
        }

        return scored == 0 ? 0 : sum / scored;
    }
}
