using static TorchSharp.torch;

namespace MixFit.Losses;

/// <summary>Mean of absolute differences, in float32.</summary>
public sealed class MeanAbsoluteError : Loss
{
    /// <inheritdoc />
    public override string Name => "mean_absolute_error";

    /// <inheritdoc />
    public override Tensor PerSample(Tensor output, Tensor target)
    {
        CheckSameShape(output, target);
        return MeanPerSample((output.to(ScalarType.Float32) - target.to(ScalarType.Float32)).abs());
    }
}
