using MixFit.Losses;
using static TorchSharp.torch;

namespace MixFit.Metrics;

/// <summary>
/// How the classification metrics read model outputs: as one binary score per element (binary cross-entropy, or a
/// single output column) or as one score per class, and whether the outputs are logits.
/// </summary>
/// <param name="Binary">Each output element is the score of one yes/no decision (binary and multi-label).</param>
/// <param name="FromLogits">Outputs are logits: probabilities are their sigmoid (binary) or softmax (classes).</param>
internal sealed record ClassScores(bool Binary, bool FromLogits)
{
    /// <summary>From the compiled loss: binary under binary cross-entropy, per class under the categorical cross-entropies.</summary>
    public static ClassScores FromLoss(Loss loss) => loss switch
    {
        BinaryCrossentropy b => new ClassScores(true, b.FromLogits),
        CrossentropyLoss c => new ClassScores(false, c.FromLogits),
        _ => new ClassScores(true, false),
    };

    /// <summary>Whether this batch is read as binary decisions (also a single output column under any loss).</summary>
    public bool IsBinary(Tensor output) => Binary || output.dim() == 1 || output.shape[1] == 1;

    /// <summary>The outputs as float32 probabilities.</summary>
    public Tensor Probabilities(Tensor output)
    {
        var values = output.to(ScalarType.Float32);
        if (!FromLogits)
        {
            return values;
        }

        return IsBinary(output) ? values.sigmoid() : values.softmax(1);
    }

    /// <summary>The class index of each sample: the integer target, or the argmax of a one-hot row.</summary>
    public static Tensor TargetClasses(Tensor output, Tensor target) =>
        target.dim() == output.dim() && target.is_floating_point() ? target.argmax(1) : target.reshape(target.shape[0]).to(ScalarType.Int64);

    /// <summary>
    /// A binary batch as one column of decisions: every element's probability, whether its target is positive (above
    /// 0.5) and its sample's weight, each [elements, 1], so multi-label outputs pool their labels.
    /// </summary>
    public (Tensor Probabilities, Tensor Positive, Tensor Weights) BinaryColumns(Tensor output, Tensor target, Tensor weights)
    {
        long rows = output.shape[0];
        var probabilities = Probabilities(output).reshape(rows, -1);
        var positive = target.to(ScalarType.Float32).reshape(rows, -1).gt(0.5);
        return (probabilities.reshape(-1, 1), positive.reshape(-1, 1), weights.expand(probabilities.shape).reshape(-1, 1));
    }

    /// <summary>The [batch, 1] float32 weights (ones when <paramref name="sampleWeight"/> is null).</summary>
    public static Tensor Weights(Tensor? sampleWeight, Tensor output, string user) =>
        sampleWeight is null
            ? ones(output.shape[0], 1, ScalarType.Float32, output.device)
            : SampleWeights.Check(sampleWeight, output.shape[0], user).to(ScalarType.Float32, output.device).unsqueeze(1);
}
