namespace MixFit.Applications;

/// <summary>The pretrained-style feature extractors MixFit builds (TorchVision architectures, torchvision's parameter names).</summary>
public enum BackboneKind
{
    /// <summary>ResNet-18: 512 features; CPU-friendly.</summary>
    ResNet18,

    /// <summary>ResNet-34: 512 features.</summary>
    ResNet34,

    /// <summary>ResNet-50 (the article's): 2048 features.</summary>
    ResNet50,

    /// <summary>ResNet-101: 2048 features.</summary>
    ResNet101,

    /// <summary>MobileNetV2: 1280 features; the most CPU-friendly.</summary>
    MobileNetV2,

    /// <summary>MobileNetV3-Small: 576 features.</summary>
    MobileNetV3Small,

    /// <summary>MobileNetV3-Large: 960 features.</summary>
    MobileNetV3Large,
}
