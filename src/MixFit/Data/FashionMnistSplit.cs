namespace MixFit.Data;

/// <summary>Which part of Fashion-MNIST to load.</summary>
public enum FashionMnistSplit
{
    /// <summary>The training images.</summary>
    Train,

    /// <summary>The test images.</summary>
    Test,
}
