using static TorchSharp.torch;

namespace MixFit.Metrics;

/// <summary>
/// Keras' <c>Mean</c>: the running mean of a value over an epoch. The trainer reports its loss through one (a batch
/// contributes its mean loss weighted by its sample count), so the epoch's loss is the mean over samples.
/// </summary>
/// <param name="name">The name in logs. Default <c>loss</c>.</param>
public sealed class Mean(string name = "loss") : Metric(name)
{
    /// <summary>A batch's contribution when its mean is <paramref name="batchMean"/> over <paramref name="count"/> samples: [mean * count, count] in the mean's dtype, on the device.</summary>
    public static Tensor BatchTotals(Tensor batchMean, long count)
    {
        ArgumentNullException.ThrowIfNull(batchMean);
        var mean = batchMean.detach();
        return stack(new[] { mean * count, full(Array.Empty<long>(), (double)count, mean.dtype, mean.device) });
    }

    /// <summary>The mean of every element of <paramref name="output"/> (the target is ignored): Keras' <c>Mean.update_state(values)</c>.</summary>
    public override Tensor BatchTotals(Tensor output, Tensor target, Tensor? sampleWeight) => SumAndCount(output.detach(), sampleWeight);
}
