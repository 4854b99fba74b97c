using System.Diagnostics;

namespace MixFit.Training;

/// <summary>
/// Times training steps over the windows between two reads of the logs: each step adds its host time, and a read
/// adds its own wait (on a GPU, the device finishing the queued steps) and reports the window's mean as <c>ms_per_step</c>.
/// </summary>
internal sealed class StepWindow(LogAccumulator logs)
{
    /// <summary>The name of the value <see cref="Read"/> adds.</summary>
    public const string MsPerStep = "ms_per_step";

    private double seconds;
    private int steps;

    /// <summary>Adds a step that took <paramref name="hostSeconds"/> on the host.</summary>
    public void Add(double hostSeconds)
    {
        seconds += hostSeconds;
        steps++;
    }

    /// <summary>Reads the logs (one transfer) and adds <c>ms_per_step</c> over the steps since the previous read.</summary>
    public IReadOnlyDictionary<string, double> Read()
    {
        var watch = Stopwatch.StartNew();
        var values = logs.Logs();
        seconds += watch.Elapsed.TotalSeconds;
        values[MsPerStep] = steps == 0 ? 0 : seconds * 1000 / steps;
        seconds = 0;
        steps = 0;
        return values;
    }
}
