using static TorchSharp.torch;

namespace MixFit.Applications;

/// <summary>
/// The base of a <see cref="TransferModel"/> (Keras' <c>include_top=False</c> model): images in, a pooled feature
/// vector [batch, <see cref="Features"/>] out. Implemented by TorchVision architectures (<see cref="Backbone"/>) and
/// by imported ONNX graphs (<see cref="OnnxBackbone"/>).
/// </summary>
public abstract class FeatureExtractor : nn.Module<Tensor, Tensor>
{
    /// <summary>Names the module.</summary>
    protected FeatureExtractor(string name)
        : base(name)
    {
    }

    /// <summary>The length of the feature vector.</summary>
    public abstract long Features { get; }

    /// <summary>The units <see cref="TransferModel.UnfreezeTop"/> counts, from the input to the output.</summary>
    public abstract IReadOnlyList<nn.Module> Units();
}
