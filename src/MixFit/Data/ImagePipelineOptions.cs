using System.Text.Json.Serialization;
using MixFit.Data.Transforms;
using static TorchSharp.torch;

namespace MixFit.Data;

/// <summary>Options of an <see cref="ImagePipeline"/> (tf.data's shuffle / map / batch / prefetch / cache).</summary>
public sealed record ImagePipelineOptions
{
    /// <summary>Images per batch. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Reshuffle every epoch (seeded by <see cref="Seed"/> and the epoch). Default true.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seed of the order and of random augmentations. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Parallel decode/augment workers. Default: the processor count.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Batches prepared ahead in the background (bounded memory); 0 prepares each batch when asked. Default 2.</summary>
    public int Prefetch { get; init; } = 2;

    /// <summary>Drop a last, smaller batch.</summary>
    public bool DropRemainder { get; init; }

    /// <summary>Keep decoded images in memory after the first epoch (before random transforms).</summary>
    public bool CacheDecoded { get; init; }

    /// <summary>Images with more pixels than this are refused from their header, before any allocation. Default 64 megapixels.</summary>
    public long MaxPixels { get; init; } = Images.ImageDecoder.DefaultMaxPixels;

    /// <summary>Transforms applied in order after decoding (include a resize so a batch has one size).</summary>
    [JsonIgnore]
    public IReadOnlyList<ImageTransform> Transforms { get; init; } = Array.Empty<ImageTransform>();

    /// <summary>1 (grayscale, ITU-R 601 luma) or 3 (RGB; grayscale images are repeated). Default 3.</summary>
    public int Channels { get; init; } = 3;

    /// <summary>Pixel normalisation. Default: [0, 1].</summary>
    public PixelNormalization Normalization { get; init; } = PixelNormalization.UnitRange;

    /// <summary>
    /// Output dtype of the images: float32 (default), bfloat16/float16 (the policy's compute dtype, halving transfer),
    /// or <c>Byte</c> for raw 0..255 pixels to normalise on the device.
    /// </summary>
    public ScalarType OutputDType { get; init; } = ScalarType.Float32;

    /// <summary>Skip unreadable images and bad rows (counted and listed in <see cref="ImagePipeline.Problems"/>) instead of failing.</summary>
    public bool SkipBad { get; init; }

    /// <summary>Uniform or class-balanced sampling.</summary>
    public SamplingMode Sampling { get; init; } = SamplingMode.Uniform;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message gives it.</exception>
    public ImagePipelineOptions Validated()
    {
        if (BatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"The batch size must be at least 1, got {BatchSize}.");
        }

        if (Workers < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Workers), Workers, $"Workers must be at least 1, got {Workers}.");
        }

        if (MaxPixels < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPixels), MaxPixels, $"MaxPixels must be at least 1, got {MaxPixels}.");
        }

        if (Prefetch < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Prefetch), Prefetch, $"Prefetch must be >= 0, got {Prefetch}.");
        }

        if (Channels is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(Channels), Channels, $"Channels must be 1 or 3, got {Channels}.");
        }

        if (OutputDType is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Byte))
        {
            throw new ArgumentOutOfRangeException(nameof(OutputDType), OutputDType, $"OutputDType must be Float32, BFloat16, Float16 or Byte, got {OutputDType}.");
        }

        return this;
    }
}
