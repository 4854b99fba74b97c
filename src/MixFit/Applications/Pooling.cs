namespace MixFit.Applications;

/// <summary>How a headless backbone reduces its feature maps (Keras' <c>pooling</c> argument).</summary>
public enum Pooling
{
    /// <summary>Global average pooling to a feature vector (the article's choice).</summary>
    Average,

    /// <summary>Global max pooling to a feature vector.</summary>
    Max,

    /// <summary>No pooling: the last feature maps, [N, C, H, W].</summary>
    None,
}
