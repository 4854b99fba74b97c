using System.Globalization;

namespace MixFit.Experiments;

/// <summary>
/// The CLI's <c>--class-weight</c>: <c>balanced</c> (scikit-learn's <c>n_samples / (n_classes * count)</c> from the
/// training labels) or explicit <c>class=weight</c> pairs such as <c>0=1,6=2.5</c> (class indices of the label map;
/// classes not named weigh 1). Resolved into <see cref="MixFit.Training.FitOptions.ClassWeight"/>.
/// </summary>
public sealed class ClassWeights
{
    private readonly IReadOnlyDictionary<int, double>? explicitWeights;

    private ClassWeights(string text, IReadOnlyDictionary<int, double>? explicitWeights)
    {
        Text = text;
        this.explicitWeights = explicitWeights;
    }

    /// <summary>The option as given, normalised (recorded in the run's config).</summary>
    public string Text { get; }

    /// <summary>Parses <c>balanced</c> or <c>class=weight</c> pairs separated by commas.</summary>
    /// <exception cref="ArgumentException">The text is neither; the message quotes the bad pair and shows the form.</exception>
    public static ClassWeights Parse(string text)
    {
        string value = (text ?? "").Trim();
        if (value.Equals("balanced", StringComparison.OrdinalIgnoreCase))
        {
            return new ClassWeights("balanced", null);
        }

        var weights = new Dictionary<int, double>();
        foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', StringSplitOptions.TrimEntries);
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int label) || label < 0
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double weight) || !double.IsFinite(weight) || weight < 0)
            {
                throw new ArgumentException(
                    $"\"{pair}\" is not a class=weight pair with a class index >= 0 and a weight >= 0 (expected \"balanced\" or e.g. \"0=1,6=2.5\").");
            }

            if (!weights.TryAdd(label, weight))
            {
                throw new ArgumentException($"class {label} is given twice (\"{text}\"); give each class once.");
            }
        }

        if (weights.Count > 0 && weights.Values.All(w => w == 0))
        {
            throw new ArgumentException($"\"{text}\" gives every named class weight 0, so those samples would teach nothing; give at least one a weight above 0.");
        }

        if (weights.Count == 0)
        {
            throw new ArgumentException($"\"{text}\" names no class (expected \"balanced\" or e.g. \"0=1,6=2.5\").");
        }

        return new ClassWeights(string.Join(",", weights.OrderBy(w => w.Key).Select(w => $"{w.Key}={w.Value.ToString(CultureInfo.InvariantCulture)}")), weights);
    }

    /// <summary>The weight of each class for training labels counted as <paramref name="counts"/> (index = class).</summary>
    /// <exception cref="ArgumentException">An explicit class is not one of the <paramref name="counts"/>' classes.</exception>
    public IReadOnlyDictionary<int, double> Resolve(IReadOnlyList<long> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (explicitWeights is not null)
        {
            if (explicitWeights.Keys.FirstOrDefault(k => k >= counts.Count, -1) is var missing && missing >= 0)
            {
                throw new ArgumentException($"--class-weight names class {missing}, but the data has {counts.Count} classes (0..{counts.Count - 1}).");
            }

            return explicitWeights;
        }

        long total = counts.Sum();
        int present = counts.Count(c => c > 0);
        return counts
            .Select((count, label) => (count, label))
            .Where(c => c.count > 0)
            .ToDictionary(c => c.label, c => (double)total / (present * c.count));
    }
}
