namespace MixFit.Data;

/// <summary>How an epoch's samples are drawn.</summary>
public enum SamplingMode
{
    /// <summary>Every image once per epoch (shuffled when asked).</summary>
    Uniform,

    /// <summary>As many draws as images, each picking a class uniformly, then an image of it (with replacement): rare classes are seen as often as common ones.</summary>
    Balanced,
}
