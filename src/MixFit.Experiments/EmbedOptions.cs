using MixFit.Applications;
using MixFit.Precision;

namespace MixFit.Experiments;

/// <summary>The options of <see cref="EmbeddingJob"/> (the CLI's <c>mixfit embed</c>).</summary>
public sealed record EmbedOptions
{
    /// <summary>A CSV with an image column, a folder with <c>train.csv</c> and <c>images/</c>, or a folder of image files.</summary>
    public required string Data { get; init; }

    /// <summary>The images folder of a CSV; null: <c>images/</c> beside it.</summary>
    public string? Images { get; init; }

    /// <summary>Where to write: <c>.csv</c> or <c>.npy</c>.</summary>
    public required string Output { get; init; }

    /// <summary>The backbone. Default resnet18.</summary>
    public ModelDescriptor Model { get; init; } = ModelDescriptor.Parse("resnet18");

    /// <summary><c>imagenet</c> (resnet18) or a weights file. Default imagenet.</summary>
    public string? Weights { get; init; } = ModelDescriptor.ImageNet;

    /// <summary>Any ONNX CNN instead of <see cref="Model"/>: its output (pooled when 4-D) is the feature vector; it gets [0, 1] RGB input.</summary>
    public string? Onnx { get; init; }

    /// <summary>Input size; null: the model's (224 for the ImageNet ResNet18).</summary>
    public int? ImageSize { get; init; }

    /// <summary>Images per batch. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>The precision policy of the forward pass. Default float32.</summary>
    public DTypePolicy Policy { get; init; } = DTypePolicy.Float32;

    /// <summary>Where to run. Default auto.</summary>
    public DeviceChoice Device { get; init; } = DeviceChoice.Auto;
}
