using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace MixFit.Training;

/// <summary>
/// The logs a batch hook receives (<see cref="Callbacks.Callback.OnTrainBatchEnd"/>, <see cref="Callbacks.Callback.OnTestBatchEnd"/>):
/// the running loss and metrics stay on the device until a callback first reads a value. That first read costs one
/// device-to-host transfer (on a GPU, a synchronisation with the queued work); every later read of the same logs is
/// free. A step whose logs nobody reads costs nothing on the host, so the CPU keeps queueing steps.
/// </summary>
/// <remarks>
/// <para>The built-in callbacks read only when they need the values: the progress bar when it redraws (at most
/// <see cref="Callbacks.ProgbarLogger.RefreshSeconds"/> apart), the tracker at its step interval, the history at
/// the end of an epoch. <see cref="Callbacks.TerminateOnNaN"/> reads every batch, as in Keras.</para>
/// <para>Read the values during the hook, or copy them (<c>new Dictionary&lt;string, double&gt;(logs)</c>): once
/// the next step has run, the values of this one are gone from the device, and reading them then throws
/// <see cref="InvalidOperationException"/> instead of returning the later step's values.</para>
/// <para><c>ms_per_step</c> is measured over the steps since the previous read: their host time plus the wait of
/// this read, divided by their number (read every step, it is each step's time).</para>
/// </remarks>
public sealed class DeviceLogs : IReadOnlyDictionary<string, double>
{
    private readonly object gate = new();
    private readonly int batch;
    private readonly IReadOnlyCollection<string> names;
    private Func<IReadOnlyDictionary<string, double>>? read;
    private IReadOnlyDictionary<string, double>? values;

    /// <summary>Logs of <paramref name="batch"/> named <paramref name="names"/> (known on the host), whose values <paramref name="read"/> brings from the device.</summary>
    internal DeviceLogs(int batch, IReadOnlyCollection<string> names, Func<IReadOnlyDictionary<string, double>> read)
    {
        this.batch = batch;
        this.names = names;
        this.read = read;
    }

    /// <summary>Whether the values are on the host already (reading them costs nothing more).</summary>
    public bool IsRead => values is not null;

    /// <summary>The number of logged values; known on the host (no read).</summary>
    public int Count => names.Count;

    /// <summary>The names of the logged values; known on the host (no read).</summary>
    public IEnumerable<string> Keys => names;

    IEnumerable<double> IReadOnlyDictionary<string, double>.Values => Values.Values;

    // Read once, under a lock: the values may be asked for from another thread (a callback's background work).
    private IReadOnlyDictionary<string, double> Values
    {
        get
        {
            lock (gate)
            {
                return values ??= (read ?? throw Expired())();
            }
        }
    }

    /// <inheritdoc />
    public double this[string key] => Values[key];

    /// <summary>Whether <paramref name="key"/> is logged; known on the host (no read).</summary>
    public bool ContainsKey(string key) => names.Contains(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out double value) => Values.TryGetValue(key, out value);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, double>> GetEnumerator() => Values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Reads the values now if no callback did (one transfer, or none when they were read).</summary>
    internal void Read() => _ = Values;

    /// <summary>The loop moves on: unread values can no longer be read.</summary>
    internal void Expire()
    {
        lock (gate)
        {
            read = null;
        }
    }

    private InvalidOperationException Expired() => new(
        $"The logs of batch {batch} were read after the next batch had run. Batch logs stay on the device until read: read them inside the hook, or copy them there (new Dictionary<string, double>(logs)).");
}
