using static TorchSharp.torch;

namespace MixFit.Data;

/// <summary>One batch: inputs and, for training and evaluation, targets. Tensors belong to the caller's dispose scope.</summary>
/// <param name="X">The inputs, batch-first.</param>
/// <param name="Y">The targets (class indices, one-hot rows or values), or null for prediction.</param>
public sealed record Batch(Tensor X, Tensor? Y)
{
    /// <summary>One weight per sample, shape [batch] (Keras' <c>sample_weight</c>), or null: every sample weighs 1.</summary>
    public Tensor? SampleWeight { get; init; }
}
