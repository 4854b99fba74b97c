using MixFit.Losses;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>
/// Keras' <c>class_weight</c> during one fit: the dictionary becomes a [classes] float32 table on the model's device
/// at the first step (when the number of classes is known from the output), then each batch's sample weights are a
/// lookup of its targets' classes. Classes without an entry weigh 1.
/// </summary>
internal sealed class ClassWeightTable : IDisposable
{
    private readonly IReadOnlyDictionary<int, double> weights;
    private Tensor? table;

    private ClassWeightTable(IReadOnlyDictionary<int, double> weights) => this.weights = weights;

    /// <summary>The table for <see cref="FitOptions.ClassWeight"/>, or null when none was given.</summary>
    public static ClassWeightTable? For(FitOptions options) => options.ClassWeight is { } weights ? new ClassWeightTable(weights) : null;

    /// <summary>The batch's sample weights from its targets.</summary>
    /// <exception cref="ArgumentException">A class in the dictionary does not exist in the model's output.</exception>
    public Tensor SampleWeightsFor(Tensor output, Tensor target)
    {
        if (table is null)
        {
            long classes = output.dim() > 1 && output.shape[1] > 1 ? output.shape[1] : 2;
            if (weights.Keys.FirstOrDefault(k => k >= classes) is var key && key >= classes)
            {
                throw new ArgumentException(
                    $"FitOptions.ClassWeight has an entry for class {key}, but the model has {classes} classes (expected keys 0..{classes - 1}).");
            }

            var values = Enumerable.Range(0, (int)classes).Select(c => weights.TryGetValue(c, out var w) ? (float)w : 1f).ToArray();
            table = tensor(values, ScalarType.Float32, output.device).DetachFromDisposeScope();
        }

        return SampleWeights.FromClasses(target, table);
    }

    /// <inheritdoc />
    public void Dispose() => table?.Dispose();
}
