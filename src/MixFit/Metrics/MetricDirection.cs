namespace MixFit.Metrics;

/// <summary>Which way a logged quantity improves, decided from its name as Keras does (one rule for every callback).</summary>
public static class MetricDirection
{
    /// <summary>Whether higher values of <paramref name="name"/> are better: names containing <c>acc</c> (accuracy, val_accuracy), and nothing else.</summary>
    public static bool HigherIsBetter(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Contains("acc", StringComparison.Ordinal);
    }
}
