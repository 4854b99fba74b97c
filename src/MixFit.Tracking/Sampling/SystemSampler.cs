using System.Diagnostics;
using System.Globalization;
using MixFit.Tracking.Store;

namespace MixFit.Tracking.Sampling;

/// <summary>
/// Samples system metrics every second on a background timer and logs their averages and maxima every few seconds
/// under Weights &amp; Biases' names: <c>cpu</c> (machine CPU %), <c>proc.memory.rssMB</c>, <c>memory_percent</c>,
/// <c>disk.&lt;path&gt;.usagePercent</c> and, with NVML, per-GPU utilisation, memory, power and temperature.
/// Maxima are suffixed <c>.max</c>; <see cref="Peaks"/> keeps the run's peaks for the summary.
/// </summary>
public sealed class SystemSampler : IDisposable
{
    private readonly Run run;
    private readonly Nvml? nvml;
    private readonly Timer timer;
    private readonly int aggregateEvery;
    private readonly object gate = new();
    private readonly Dictionary<string, List<double>> window = new();
    private readonly Dictionary<string, double> peaks = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Func<(ulong Busy, ulong Total)?> readCpu;
    private (ulong Busy, ulong Total)? lastCpu;
    private int samples;

    /// <summary>Starts sampling into <paramref name="run"/> every <paramref name="interval"/> (default 1 s), aggregating every <paramref name="aggregateEvery"/> samples (default 5).</summary>
    public SystemSampler(Run run, TimeSpan? interval = null, int aggregateEvery = 5, Nvml? nvml = null)
        : this(run, interval ?? TimeSpan.FromSeconds(1), aggregateEvery, nvml ?? Nvml.TryCreate(), ReadCpu)
    {
    }

    /// <summary>
    /// The sampler with its sources injected: <paramref name="interval"/> <see cref="Timeout.InfiniteTimeSpan"/> starts
    /// no timer (call <see cref="Tick"/>), <paramref name="readCpu"/> replaces <c>/proc/stat</c>.
    /// </summary>
    internal SystemSampler(Run run, TimeSpan interval, int aggregateEvery, Nvml? nvml, Func<(ulong Busy, ulong Total)?> readCpu)
    {
        this.run = run ?? throw new ArgumentNullException(nameof(run));
        this.aggregateEvery = Math.Max(1, aggregateEvery);
        this.nvml = nvml;
        this.readCpu = readCpu;
        timer = new Timer(_ => Tick(), null, interval, interval);
    }

    /// <summary>Whether GPU metrics are sampled.</summary>
    public bool HasGpu => nvml is not null;

    /// <summary>The highest value of every metric so far.</summary>
    public IReadOnlyDictionary<string, double> Peaks
    {
        get
        {
            lock (gate)
            {
                return new Dictionary<string, double>(peaks);
            }
        }
    }

    /// <summary>One sample of every available metric.</summary>
    public Dictionary<string, double> Sample()
    {
        var values = new Dictionary<string, double>();
        using (var process = Process.GetCurrentProcess())
        {
            values["proc.memory.rssMB"] = process.WorkingSet64 / (1024.0 * 1024.0);
        }

        if (readCpu() is { } cpu)
        {
            if (lastCpu is { } last && cpu.Total > last.Total)
            {
                values["cpu"] = 100.0 * (cpu.Busy - last.Busy) / (cpu.Total - last.Total);
            }

            lastCpu = cpu;
        }

        if (ReadMemoryPercent() is { } memory)
        {
            values["memory_percent"] = memory;
        }

        try
        {
            var drive = new DriveInfo(Path.GetPathRoot(Path.GetFullPath(run.Folder)) ?? "/");
            if (drive.TotalSize > 0)
            {
                values[$"disk.{drive.Name}.usagePercent"] = 100.0 * (drive.TotalSize - drive.AvailableFreeSpace) / drive.TotalSize;
            }
        }
        catch (IOException)
        {
        }

        if (nvml is not null)
        {
            foreach (var (name, value) in nvml.Sample())
            {
                values[name] = value;
            }
        }

        return values;
    }

    /// <summary>Stops sampling and logs what is left of the current window.</summary>
    public void Dispose()
    {
        timer.Dispose();
        lock (gate)
        {
            Emit();
        }
    }

    /// <summary>One timer tick: a sample into the window, and a logged record every <c>aggregateEvery</c> ticks.</summary>
    internal void Tick()
    {
        var values = Sample();
        lock (gate)
        {
            foreach (var (name, value) in values)
            {
                if (!window.TryGetValue(name, out var list))
                {
                    window[name] = list = new List<double>();
                }

                list.Add(value);
                peaks[name] = peaks.TryGetValue(name, out double peak) ? Math.Max(peak, value) : value;
            }

            if (++samples >= aggregateEvery)
            {
                Emit();
            }
        }
    }

    private void Emit()
    {
        if (window.Count == 0)
        {
            return;
        }

        var record = new Dictionary<string, double>();
        foreach (var (name, list) in window)
        {
            record[name] = list.Average();
            record[name + ".max"] = list.Max();
        }

        run.Log("system", (long)clock.Elapsed.TotalSeconds, record);
        window.Clear();
        samples = 0;
    }

    private static (ulong Busy, ulong Total)? ReadCpu()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(f => ulong.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            ulong idle = fields[3] + (fields.Length > 4 ? fields[4] : 0);
            ulong total = fields.Aggregate(0UL, (a, b) => a + b);
            return (total - idle, total);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static double? ReadMemoryPercent()
    {
        try
        {
            var info = File.ReadLines("/proc/meminfo").Select(l => l.Split(':')).Where(p => p.Length == 2)
                .ToDictionary(p => p[0], p => double.Parse(p[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
            return 100.0 * (1 - (info["MemAvailable"] / info["MemTotal"]));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or KeyNotFoundException or FormatException)
        {
            return null;
        }
    }
}
