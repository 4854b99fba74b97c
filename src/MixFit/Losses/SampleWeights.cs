using static TorchSharp.torch;

namespace MixFit.Losses;

/// <summary>Checks and derives per-sample weights (Keras' <c>sample_weight</c> and <c>class_weight</c>).</summary>
internal static class SampleWeights
{
    /// <summary>The mean over every dimension but the first: one value per sample (1-D values are already per sample).</summary>
    public static Tensor PerSample(Tensor values) =>
        values.dim() <= 1 ? values : values.reshape(values.shape[0], -1).mean(new long[] { 1 });

    /// <summary>The weights as a [batch] tensor; [batch, 1] is accepted and flattened.</summary>
    /// <exception cref="ArgumentException">The weights are not one per sample; the message gives both shapes.</exception>
    public static Tensor Check(Tensor weights, long batch, string user)
    {
        bool perSample = (weights.dim() == 1 && weights.shape[0] == batch) || (weights.dim() == 2 && weights.shape[0] == batch && weights.shape[1] == 1);
        if (!perSample)
        {
            throw new ArgumentException(
                $"{user}: sample weights must have one value per sample, shape [{batch}], got [{string.Join(",", weights.shape)}].");
        }

        if (!weights.is_floating_point() && weights.dtype != ScalarType.Int64 && weights.dtype != ScalarType.Int32)
        {
            throw new ArgumentException($"{user}: sample weights must be numbers (float or integer), got {weights.dtype}.");
        }

        return weights.reshape(batch);
    }

    /// <summary>
    /// Keras' <c>class_weight</c> as sample weights: each sample weighs its class's entry of <paramref name="byClass"/>
    /// (a float32 [classes] table, 1 where the dictionary had no entry). The class is the integer target, the argmax
    /// of a one-hot row, or the rounded value of a single binary target.
    /// </summary>
    public static Tensor FromClasses(Tensor target, Tensor byClass)
    {
        Tensor classes = target.is_floating_point()
            ? target.dim() > 1 && target.shape[^1] > 1 ? target.argmax(-1) : target.reshape(target.shape[0]).round()
            : target.reshape(target.shape[0]);
        return byClass.index_select(0, classes.to(ScalarType.Int64).clamp(0, byClass.shape[0] - 1));
    }
}
