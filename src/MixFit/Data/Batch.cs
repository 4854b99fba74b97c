using static TorchSharp.torch;

namespace MixFit.Data;

/// <summary>One batch: inputs and, for training and evaluation, targets. Tensors belong to the caller's dispose scope.</summary>
/// <param name="X">The inputs, batch-first.</param>
/// <param name="Y">The targets (class indices, one-hot rows or values), or null for prediction.</param>
public sealed record Batch(Tensor X, Tensor? Y)
{
    /// <summary>One weight per sample, shape [batch] (Keras' <c>sample_weight</c>), or null: every sample weighs 1.</summary>
    public Tensor? SampleWeight { get; init; }

    /// <summary>Samples <paramref name="start"/> to <paramref name="start"/> + <paramref name="length"/> of inputs, targets and weights (views, no copy).</summary>
    public Batch Narrow(long start, long length) =>
        new(X.narrow(0, start, length), Y?.narrow(0, start, length)) { SampleWeight = SampleWeight?.narrow(0, start, length) };

    /// <summary>The samples at <paramref name="index"/> (a 1-D int64 tensor) of inputs, targets and weights.</summary>
    public Batch Select(Tensor index) =>
        new(X.index_select(0, index), Y?.index_select(0, index)) { SampleWeight = SampleWeight?.index_select(0, index) };
}
