using System.Globalization;
using System.Text;

namespace MixFit.Callbacks;

/// <summary>
/// tf.keras 2.x's progress bar, character for character: <c>45/78 [================&gt;.............] - ETA: 7s - loss: 0.3012</c>
/// while running and <c>78/78 [==============================] - 18s 230ms/step - loss: 0.2259</c> when done.
/// </summary>
/// <remarks>
/// <para>On a terminal the line is redrawn in place (carriage return, padded to erase the previous text) at most every
/// 50 ms; the final update always draws and ends the line. Without a terminal (<see cref="Dynamic"/> false) nothing
/// is drawn until the end: one line, no control characters. Verbose 2 writes Keras' one-line epoch summary
/// <c>78/78 - 18s - loss: 0.2259 - 18s/epoch - 230ms/step</c>.</para>
/// <para>The time per step excludes the first (warm-up) step. Values print as <c>%.4f</c>, or <c>%.4e</c> when |v| &lt;= 1e-3.</para>
/// </remarks>
public sealed class Progbar
{
    private const int Width = 30;
    /// <summary>Keras' redraw interval, in seconds.</summary>
    public const double DefaultInterval = 0.05;
    private readonly TextWriter output;
    private readonly Func<double> clock;
    private readonly double start;
    private double lastUpdate;
    private double? timeAfterFirstStep;
    private double? timeAtEnd;
    private int totalWidth;

    /// <summary>Creates a bar for <paramref name="target"/> steps (null: unknown).</summary>
    /// <param name="target">Steps expected, or null.</param>
    /// <param name="output">Where to write.</param>
    /// <param name="verbose">1: bar, 2: one line at the end.</param>
    /// <param name="dynamic">Whether <paramref name="output"/> is a terminal that supports redrawing a line.</param>
    /// <param name="clock">Seconds since an arbitrary origin; injectable for tests. Default: a monotonic clock.</param>
    /// <param name="unitName">Unit of a step, <c>step</c> by default.</param>
    /// <param name="interval">Least seconds between two redraws of a live bar (Keras: 0.05); the values are read only when the bar redraws.</param>
    public Progbar(int? target, TextWriter output, int verbose = 1, bool dynamic = true, Func<double>? clock = null, string unitName = "step", double interval = DefaultInterval)
    {
        Interval = interval;
        Target = target;
        this.output = output ?? throw new ArgumentNullException(nameof(output));
        Verbose = verbose;
        Dynamic = dynamic;
        UnitName = unitName;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        this.clock = clock ?? (() => watch.Elapsed.TotalSeconds);
        start = this.clock();
        lastUpdate = double.NegativeInfinity;
    }

    /// <summary>Steps expected, or null when unknown.</summary>
    public int? Target { get; }

    /// <summary>1: bar, 2: one summary line.</summary>
    public int Verbose { get; }

    /// <summary>Whether the bar is redrawn in place.</summary>
    public bool Dynamic { get; }

    /// <summary>Least seconds between two redraws of a live bar.</summary>
    public double Interval { get; }

    /// <summary>The unit name in <c>ms/step</c>.</summary>
    public string UnitName { get; }

    /// <summary>Shows progress at step <paramref name="current"/> with <paramref name="values"/> (name, value), in order.</summary>
    /// <param name="current">Steps done.</param>
    /// <param name="values">The values to display; enumerated only when the bar is drawn (reading them may cost a device transfer: see <see cref="Training.DeviceLogs"/>).</param>
    /// <param name="finalize">Whether this is the last update (default: current reached the target).</param>
    public void Update(int current, IEnumerable<KeyValuePair<string, double>> values, bool? finalize = null)
    {
        bool done = finalize ?? (Target is { } t && current >= t);
        double now = clock();
        string info = $" - {Seconds(now - start)}s";
        if (current == Target)
        {
            timeAtEnd = now;
        }

        if (Verbose == 1)
        {
            if (!done && (!Dynamic || now - lastUpdate < Interval))
            {
                EstimateStepDuration(current, now);
                return;
            }

            int previousWidth = totalWidth;
            var line = new StringBuilder();
            if (Dynamic)
            {
                line.Append('\r');
            }

            string bar = BarText(current);
            totalWidth = bar.Length;
            line.Append(bar);
            double timePerUnit = EstimateStepDuration(current, now);
            if (Target is null || done)
            {
                info += FormatTime(timePerUnit, UnitName);
            }
            else
            {
                info = $" - ETA: {FormatEta(timePerUnit * (Target.Value - current))}";
            }

            info += FormatValues(values);
            totalWidth += info.Length;
            if (Dynamic && previousWidth > totalWidth)
            {
                info += new string(' ', previousWidth - totalWidth);
            }

            line.Append(info);
            if (done)
            {
                line.Append('\n');
            }

            output.Write(line.ToString());
            output.Flush();
            lastUpdate = now;
        }
        else if (Verbose == 2)
        {
            EstimateStepDuration(current, now);
            if (!done)
            {
                return;
            }

            string count = Target is { } target ? $"{current.ToString(CultureInfo.InvariantCulture).PadLeft(Digits(target))}/{target}" : $"{current}/Unknown";
            var line = new StringBuilder(count).Append(info).Append(FormatValues(values));
            if (timeAtEnd is { } end)
            {
                double perEpoch = end - start;
                line.Append(" -").Append(FormatTime(perEpoch, "epoch"));
                line.Append(" -").Append(FormatTime(perEpoch / Math.Max(1, Target ?? current), UnitName));
                timeAtEnd = null;
            }

            output.Write(line.Append('\n').ToString());
            output.Flush();
        }
    }

    /// <summary>Keras' number format: <c>%.4f</c>, or <c>%.4e</c> for magnitudes up to 1e-3.</summary>
    public static string FormatValue(double value)
    {
        if (double.IsNaN(value))
        {
            return "nan";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }

        if (Math.Abs(value) > 1e-3)
        {
            return value.ToString("F4", CultureInfo.InvariantCulture);
        }

        // C's %e: mantissa with 4 decimals and an exponent of at least two digits.
        string s = value.ToString("0.0000e+00", CultureInfo.InvariantCulture);
        return s;
    }

    /// <summary>Keras' duration format: <c> 2s/step</c>, <c> 230ms/step</c> or <c> 80us/step</c> (leading space included).</summary>
    public static string FormatTime(double seconds, string unit)
    {
        if (seconds >= 1 || seconds == 0)
        {
            return $" {Seconds(seconds)}s/{unit}";
        }

        return seconds >= 1e-3
            ? $" {Seconds(seconds * 1e3)}ms/{unit}"
            : $" {Seconds(seconds * 1e6)}us/{unit}";
    }

    /// <summary>Keras' ETA format: <c>7s</c>, <c>1:05</c>, <c>1:01:05</c>.</summary>
    public static string FormatEta(double eta)
    {
        long whole = (long)eta;
        return eta > 3600 ? $"{whole / 3600}:{whole % 3600 / 60:00}:{whole % 60:00}"
            : eta > 60 ? $"{whole / 60}:{whole % 60:00}"
            : $"{whole}s";
    }

    private static string Seconds(double value) => Math.Round(value, MidpointRounding.ToEven).ToString("F0", CultureInfo.InvariantCulture);

    private static int Digits(int target) => (int)Math.Floor(Math.Log10(Math.Max(1, target))) + 1;

    private static string FormatValues(IEnumerable<KeyValuePair<string, double>> values)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in values)
        {
            text.Append(" - ").Append(name).Append(": ").Append(FormatValue(value));
        }

        return text.ToString();
    }

    private string BarText(int current)
    {
        if (Target is not { } target)
        {
            return $"{current,7}/Unknown";
        }

        var bar = new StringBuilder();
        bar.Append(current.ToString(CultureInfo.InvariantCulture).PadLeft(Digits(target))).Append('/').Append(target).Append(" [");
        double progress = (double)current / target;
        int progressWidth = (int)(Width * progress);
        if (progressWidth > 0)
        {
            bar.Append('=', progressWidth - 1);
            bar.Append(current < target ? '>' : '=');
        }

        bar.Append('.', Math.Max(0, Width - progressWidth));
        bar.Append(']');
        return bar.ToString();
    }

    private double EstimateStepDuration(int current, double now)
    {
        if (current == 0)
        {
            return 0;
        }

        double perUnit = timeAfterFirstStep is { } first && current > 1
            ? (now - first) / (current - 1)
            : (now - start) / current;
        if (current == 1)
        {
            timeAfterFirstStep = now;
        }

        return perUnit;
    }
}
