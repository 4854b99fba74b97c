using static TorchSharp.torch;

namespace MixFit.Losses;

/// <summary>Mean of squared differences, in float32.</summary>
public sealed class MeanSquaredError : Loss
{
    /// <inheritdoc />
    public override string Name => "mean_squared_error";

    /// <inheritdoc />
    public override Tensor PerSample(Tensor output, Tensor target)
    {
        CheckSameShape(output, target);
        return MeanPerSample((output.to(ScalarType.Float32) - target.to(ScalarType.Float32)).square());
    }
}
