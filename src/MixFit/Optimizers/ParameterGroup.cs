using TorchSharp.Modules;

namespace MixFit.Optimizers;

/// <summary>
/// Parameters that share a learning-rate multiplier (PyTorch's parameter groups): e.g. a pretrained base at 0.1 while
/// the head learns at the full rate. A precision strategy hands these out (<c>PrecisionStrategy.ParameterGroups</c>).
/// </summary>
/// <param name="Parameters">The parameters (float32 masters under a mixed policy).</param>
/// <param name="Names">Their names in the model, in the same order (e.g. <c>base.layer4.0.conv1.weight</c>).</param>
/// <param name="LearningRateScale">Multiplies the optimizer's learning rate for these parameters. Default 1.</param>
public sealed record ParameterGroup(IReadOnlyList<Parameter> Parameters, IReadOnlyList<string> Names, double LearningRateScale = 1.0)
{
    /// <summary>Sets each group's learning-rate scale on <paramref name="optimizer"/> (groups at 1 need nothing).</summary>
    internal static void ApplyScales(Optimizer optimizer, IEnumerable<ParameterGroup> groups)
    {
        foreach (var group in groups.Where(g => g.LearningRateScale != 1.0))
        {
            optimizer.SetLearningRateScale(group.Parameters, group.LearningRateScale);
        }
    }
}
