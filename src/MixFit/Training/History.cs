namespace MixFit.Training;

/// <summary>Per-epoch values of every logged quantity (Keras' <c>History.history</c>), with <c>val_</c> prefixes for validation.</summary>
public sealed class History
{
    private readonly Dictionary<string, List<double>> values = new(StringComparer.Ordinal);

    /// <summary>The epochs recorded (0-based), in order.</summary>
    public List<int> Epochs { get; } = new();

    /// <summary>Every quantity's values, one per recorded epoch.</summary>
    public IReadOnlyDictionary<string, List<double>> Values => values;

    /// <summary>The values of one quantity, e.g. <c>history["val_accuracy"]</c>.</summary>
    /// <exception cref="KeyNotFoundException">Not logged; the message lists what was.</exception>
    public IReadOnlyList<double> this[string name] => values.TryGetValue(name, out var list)
        ? list
        : throw new KeyNotFoundException($"History has no \"{name}\". Logged: {string.Join(", ", values.Keys)}.");

    /// <summary>Appends an epoch's logs.</summary>
    public void Record(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        Epochs.Add(epoch);
        foreach (var (name, value) in logs)
        {
            if (!values.TryGetValue(name, out var list))
            {
                list = new List<double>();
                values[name] = list;
            }

            list.Add(value);
        }
    }
}
