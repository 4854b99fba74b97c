namespace MixFit.Callbacks;

/// <summary>Compares successive values of a monitored log entry with a direction and a minimum change.</summary>
internal sealed class Monitor
{
    public Monitor(string name, MonitorMode mode, double minDelta)
    {
        Name = name;
        Maximize = mode == MonitorMode.Max || (mode == MonitorMode.Auto && MixFit.Metrics.MetricDirection.HigherIsBetter(name));
        MinDelta = Math.Abs(minDelta);
    }

    public string Name { get; }

    public bool Maximize { get; }

    public double MinDelta { get; }

    /// <summary>The worst possible value: the starting "best".</summary>
    public double Worst => Maximize ? double.NegativeInfinity : double.PositiveInfinity;

    /// <summary>Whether <paramref name="current"/> beats <paramref name="reference"/> by more than the minimum change.</summary>
    public bool IsImprovement(double current, double reference) =>
        Maximize ? current - MinDelta > reference : current + MinDelta < reference;
}
