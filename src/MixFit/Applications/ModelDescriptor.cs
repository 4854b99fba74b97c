using MixFit.Precision;
using static TorchSharp.torch;

namespace MixFit.Applications;

/// <summary>
/// A model MixFit can build by name (the CLI's <c>--model</c>): what input it takes, its default image size, and how
/// to build it with the policy overrides that keep its output layer in float32.
/// </summary>
/// <param name="Name">The name, torchvision's for backbones (<c>resnet18</c>, <c>mobilenet_v3_small</c>, ...).</param>
/// <param name="InputChannels">The channels it needs (3 for ImageNet backbones), or null to take the data's own.</param>
/// <param name="DefaultImageSize">The input size used when none is given, in pixels.</param>
/// <param name="Backbone">The TorchVision backbone under a <see cref="TransferModel"/>, or null for the small CNN.</param>
public sealed record ModelDescriptor(string Name, int? InputChannels, int DefaultImageSize, BackboneKind? Backbone)
{
    /// <summary>The small CNN for 28x28 images (<see cref="SmallCnn"/>).</summary>
    public static ModelDescriptor SmallCnn { get; } = new("small-cnn", null, 28, null);

    /// <summary>Every model, small CNN first, then the backbones.</summary>
    public static IReadOnlyList<ModelDescriptor> All { get; } = new[]
    {
        SmallCnn,
        Backbone64("resnet18", BackboneKind.ResNet18),
        Backbone64("resnet34", BackboneKind.ResNet34),
        Backbone64("resnet50", BackboneKind.ResNet50),
        Backbone64("resnet101", BackboneKind.ResNet101),
        Backbone64("mobilenet_v2", BackboneKind.MobileNetV2),
        Backbone64("mobilenet_v3_small", BackboneKind.MobileNetV3Small),
        Backbone64("mobilenet_v3_large", BackboneKind.MobileNetV3Large),
    };

    /// <summary>The valid names.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(m => m.Name).ToArray();

    /// <summary>The descriptor named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown; the message lists the valid names.</exception>
    public static ModelDescriptor Parse(string name) =>
        All.FirstOrDefault(m => m.Name == (name ?? "").Trim().ToLowerInvariant())
        ?? throw new ArgumentException($"Unknown model \"{name}\". Valid models: {string.Join(", ", Names)}.", nameof(name));

    /// <summary>The channels this model takes from data with <paramref name="dataChannels"/> channels.</summary>
    public int ChannelsFor(int dataChannels) => InputChannels ?? dataChannels;

    /// <summary>The <c>--weights</c> value that selects a pretrained model MixFit finds itself (<see cref="PretrainedModels"/>).</summary>
    public const string ImageNet = "imagenet";

    /// <summary>Whether <paramref name="weights"/> names a built-in pretrained model (<c>imagenet</c>) rather than a file.</summary>
    public static bool IsBuiltInWeights(string? weights) => string.Equals(weights, ImageNet, StringComparison.OrdinalIgnoreCase);

    /// <summary>The input size these weights need, or null when any size works.</summary>
    public int? ImageSizeFor(string? weights) => IsBuiltInWeights(weights) && Name == "resnet18" ? PretrainedModels.ResNet18ImageSize : null;

    /// <summary>
    /// Builds the model with <paramref name="classes"/> outputs (logits) over built-in pretrained weights: for
    /// <c>imagenet</c>, ML.NET's ImageNet ResNet18 imported from ONNX (resnet18 only; 224x224 input in [0, 1]).
    /// </summary>
    /// <exception cref="ArgumentException">Weights this model has no built-in copy of, or an input size they cannot take.</exception>
    /// <exception cref="FileNotFoundException">The ONNX files are not in the NuGet package folder (the message says how to get them).</exception>
    public BuiltModel Build(int classes, int channels, int imageSize, bool baseTrainable, string? builtInWeights)
    {
        if (builtInWeights is null)
        {
            return Build(classes, channels, imageSize, baseTrainable);
        }

        var transfer = TransferModel.Create(BuiltInBase(builtInWeights, channels, imageSize), classes, baseTrainable);
        return new BuiltModel(transfer, transfer.PrecisionOverrides, transfer);
    }

    /// <summary>
    /// The pretrained feature extractor behind built-in weights (<c>imagenet</c>: ML.NET's ImageNet ResNet18, for
    /// resnet18 only), checked against the input it will get: the base of <see cref="Build(int, int, int, bool, string?)"/>
    /// and of <c>mixfit embed</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Weights this model has no built-in copy of, or an input they cannot take.</exception>
    /// <exception cref="FileNotFoundException">The ONNX files are not in the NuGet package folder.</exception>
    public FeatureExtractor BuiltInBase(string builtInWeights, int channels, int imageSize)
    {
        if (!IsBuiltInWeights(builtInWeights) || Name != "resnet18")
        {
            throw new ArgumentException(
                $"--weights {builtInWeights}: the built-in pretrained weights are \"imagenet\" for resnet18 (ML.NET's ImageNet ResNet18); for {Name} pass a weights file (safetensors, .pt/.pth).");
        }

        if (imageSize != PretrainedModels.ResNet18ImageSize || channels != 3)
        {
            throw new ArgumentException(
                $"The ImageNet ResNet18 takes 3x{PretrainedModels.ResNet18ImageSize}x{PretrainedModels.ResNet18ImageSize} input, got {channels}x{imageSize}x{imageSize}: use --image-size {PretrainedModels.ResNet18ImageSize} (the default with these weights).");
        }

        return PretrainedModels.ResNet18ImageNet();
    }

    /// <summary>Builds the untrained model with <paramref name="classes"/> outputs (logits).</summary>
    /// <param name="classes">Output classes.</param>
    /// <param name="channels">Input channels (must be <see cref="InputChannels"/> when that is set).</param>
    /// <param name="imageSize">Input size in pixels.</param>
    /// <param name="baseTrainable">For backbones: train the base (true) or freeze it and train the head only.</param>
    /// <exception cref="ArgumentException">A channel count the model cannot take.</exception>
    public BuiltModel Build(int classes, int channels, int imageSize, bool baseTrainable = true)
    {
        if (InputChannels is { } required && channels != required)
        {
            throw new ArgumentException($"{Name} takes {required}-channel input, got {channels} channels.", nameof(channels));
        }

        if (Backbone is not { } kind)
        {
            return new BuiltModel(Applications.SmallCnn.Create(classes, channels, imageSize), new Dictionary<string, DTypePolicy> { ["fc2"] = DTypePolicy.Float32 }, null);
        }

        var transfer = TransferModel.Create(kind, classes, baseTrainable, softmax: false);
        return new BuiltModel(transfer, transfer.PrecisionOverrides, transfer);
    }

    private static ModelDescriptor Backbone64(string name, BackboneKind kind) => new(name, 3, 64, kind);
}
