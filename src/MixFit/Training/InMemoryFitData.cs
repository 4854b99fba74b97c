using MixFit.Data;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>
/// The batch sources of a fit over in-memory tensors: Keras' <c>validation_split</c> holds out the last samples
/// (before shuffling) unless validation data was given. Disposing frees the split's views of the caller's tensors.
/// </summary>
internal sealed class InMemoryFitData : IDisposable
{
    private readonly Tensor?[] views;

    private InMemoryFitData(IBatchSource train, IBatchSource? validation, params Tensor?[] views)
    {
        Train = train;
        Validation = validation;
        this.views = views;
    }

    /// <summary>The training batches.</summary>
    public IBatchSource Train { get; }

    /// <summary>The held-out batches, or null when nothing was held out.</summary>
    public IBatchSource? Validation { get; }

    /// <summary>Builds the sources for <paramref name="options"/> (already validated).</summary>
    public static InMemoryFitData Create(Tensor x, Tensor y, FitOptions options)
    {
        var source = new TensorBatchSource(x, y, options.BatchSize, options.Shuffle, options.Seed, sampleWeight: options.SampleWeight);
        if (options.ValidationData is not null || options.ValidationSplit == 0)
        {
            return new InMemoryFitData(source, null);
        }

        var (train, held) = source.SplitLast(options.ValidationSplit, options.BatchSize);
        return new InMemoryFitData(train, held, train.X, train.Y, train.SampleWeight, held.X, held.Y, held.SampleWeight);
    }

    /// <summary>Frees the views of the split (not the caller's tensors).</summary>
    public void Dispose()
    {
        foreach (var view in views)
        {
            view?.Dispose();
        }
    }
}
