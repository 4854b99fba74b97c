using MixFit.Kernels;
using MixFit.Metrics;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>
/// The logs of one loop (a training epoch, an evaluation): the loss as a <see cref="Mean"/>, the compiled metrics,
/// the values a step returns (each a mean over the steps, e.g. a custom step's <c>d_loss</c>), and extra values (host
/// values such as <c>lr</c>; device values such as <c>loss_scale</c>, whose latest value is kept). A batch adds its state vectors to running totals on the device (<see cref="Update"/> reads nothing back);
/// <see cref="Logs"/> reads the totals and the latest device values in one transfer when batches were added since
/// the last read.
/// </summary>
/// <remarks>The totals are float64 sums of the batches' float32 state vectors, the same additions the host made
/// when it read every batch, so the logs do not depend on how often they are read.</remarks>
internal sealed class LogAccumulator : IDisposable
{
    private readonly Mean loss = new();
    private readonly IReadOnlyList<Metric> metrics;
    private readonly Dictionary<string, double> hostValues = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> latest = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> latestOnDevice = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> stepMeans = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> stepSums = new(StringComparer.Ordinal);
    private Tensor? totals;
    private int[]? lengths;
    private int valueSteps;
    private bool unread;

    /// <summary>Starts a loop over <paramref name="metrics"/> (reset here).</summary>
    public LogAccumulator(IReadOnlyList<Metric> metrics)
    {
        this.metrics = metrics;
        foreach (var metric in metrics)
        {
            metric.Reset();
        }
    }

    /// <summary>The names in display order: <c>loss</c>, then the metrics.</summary>
    public static IReadOnlyList<string> DisplayNames(IEnumerable<Metric> metrics) => new[] { "loss" }.Concat(metrics.Select(m => m.Name)).ToArray();

    /// <summary>
    /// The samples behind the loss so far (each batch adds its size), or, when no step fed the compiled loss (a custom
    /// step that returns its own logs), the steps that returned values; reads the device when anything was added since the last read.
    /// </summary>
    public double Samples
    {
        get
        {
            Read();
            return lengths is null ? valueSteps : loss.Weight;
        }
    }

    /// <summary>Sets a host-side value reported as <paramref name="name"/> (e.g. the learning rate).</summary>
    public void Set(string name, double value) => hostValues[name] = value;

    /// <summary>
    /// Adds a batch on the device: its mean loss (weighted by the batch size, as Keras' loss tracker) and the metrics'
    /// state over <paramref name="output"/> and <paramref name="target"/> (weighted by <paramref name="sampleWeight"/>
    /// when given). No device-to-host transfer.
    /// </summary>
    /// <exception cref="ArgumentException">A metric's state vector changed length (e.g. a different number of classes).</exception>
    public void Update(Tensor batchLoss, Tensor output, Tensor target, Tensor? sampleWeight)
    {
        using var _ = no_grad();
        Tensor sum;
        using (var scope = NewDisposeScope())
        {
            var detached = output.detach();
            var parts = new List<Tensor> { Mean.BatchTotals(batchLoss, output.shape[0]) };
            parts.AddRange(metrics.Select(m => m.BatchTotals(detached, target, sampleWeight)));
            CheckLengths(parts.Select(p => (int)p.numel()).ToArray());
            var batch = cat(parts.Select(p => p.to(ScalarType.Float32, batchLoss.device)).ToList(), 0).to(ScalarType.Float64);
            sum = (totals is null ? batch : totals + batch).DetachFromDisposeScope();
        }

        totals?.Dispose();
        totals = sum;
        unread = true;
    }

    /// <summary>
    /// Adds the values one step returned (0-dim device tensors by name): each is logged as its mean over the steps
    /// so far (Keras' <c>Mean</c> tracker of a custom <c>train_step</c>). No device-to-host transfer.
    /// </summary>
    /// <exception cref="ArgumentException">A value is not a single number (the name and shape are given).</exception>
    public void AddStepValues(IReadOnlyDictionary<string, Tensor> values)
    {
        using var _ = no_grad();
        valueSteps += values.Count > 0 ? 1 : 0;
        foreach (var (name, value) in values)
        {
            if (value.numel() != 1)
            {
                throw new ArgumentException($"The step returned \"{name}\" of shape [{string.Join(", ", value.shape)}]; a step's logs must be single numbers (0-dim tensors, e.g. loss.mean()).");
            }

            Tensor next;
            using (var scope = NewDisposeScope())
            {
                var pair = stack(new[] { value.detach().reshape(Array.Empty<long>()).to(ScalarType.Float64), ones(Array.Empty<long>(), ScalarType.Float64, value.device) });
                next = (stepSums.TryGetValue(name, out var sum) ? sum + pair : pair).DetachFromDisposeScope();
            }

            if (stepSums.Remove(name, out var previous))
            {
                previous.Dispose();
            }

            stepSums[name] = next;
            unread = true;
        }
    }

    /// <summary>Keeps the latest of <paramref name="deviceValues"/> (0-dim tensors, e.g. the loss scale), read with the totals.</summary>
    public void SetLatest(IReadOnlyDictionary<string, Tensor> deviceValues)
    {
        using var _ = no_grad();
        foreach (var (name, value) in deviceValues)
        {
            Tensor kept;
            using (var scope = NewDisposeScope())
            {
                kept = value.detach().reshape(1).to(ScalarType.Float64, copy: true).DetachFromDisposeScope();
            }

            if (latestOnDevice.Remove(name, out var previous))
            {
                previous.Dispose();
            }

            latestOnDevice[name] = kept;
            unread = true;
        }
    }

    /// <summary>The logs so far, by name: <c>loss</c>, the metrics, the host values, the device values (one read when batches were added since the last).</summary>
    public Dictionary<string, double> Logs()
    {
        Read();
        var logs = new Dictionary<string, double>(StringComparer.Ordinal);
        if (lengths is not null)
        {
            // The compiled loss and metrics, when the steps fed them (a custom step may not).
            logs[loss.Name] = loss.Result();
            foreach (var metric in metrics)
            {
                logs[metric.Name] = metric.Result();
            }
        }

        foreach (var (name, value) in stepMeans.Concat(hostValues).Concat(latest))
        {
            logs[name] = value;
        }

        return logs;
    }

    /// <summary>The names <see cref="Logs"/> returns, known on the host without a read.</summary>
    public IReadOnlyCollection<string> Names()
    {
        var names = new List<string>();
        if (lengths is not null)
        {
            names.Add(loss.Name);
            names.AddRange(metrics.Select(m => m.Name));
        }

        foreach (var name in stepSums.Keys.Concat(hostValues.Keys).Concat(latestOnDevice.Keys).Concat(latest.Keys))
        {
            if (!names.Contains(name))
            {
                names.Add(name);
            }
        }

        return names;
    }

    /// <summary>Releases the device totals.</summary>
    public void Dispose()
    {
        totals?.Dispose();
        totals = null;
        foreach (var value in latestOnDevice.Values.Concat(stepSums.Values))
        {
            value.Dispose();
        }

        latestOnDevice.Clear();
        stepSums.Clear();
    }

    private void CheckLengths(int[] batch)
    {
        if (lengths is null)
        {
            lengths = batch;
            return;
        }

        for (int i = 1; i < batch.Length; i++)
        {
            if (batch[i] != lengths[i])
            {
                throw new ArgumentException($"{metrics[i - 1].Name}: a batch state of {batch[i]} values after batches of {lengths[i]} (did the number of classes change?).");
            }
        }
    }

    /// <summary>Brings the totals, the step means and the latest device values to the host in one transfer, when anything was added since the last read.</summary>
    private void Read()
    {
        if (!unread)
        {
            return;
        }

        var parts = new List<Tensor>();
        if (totals is not null)
        {
            parts.Add(totals);
        }

        parts.AddRange(stepSums.Values);
        parts.AddRange(latestOnDevice.Values);
        if (parts.Count == 0)
        {
            return;
        }

        double[] values;
        using (var scope = NewDisposeScope())
        {
            var device = parts[0].device;
            values = HostReads.Values<double>(parts.Count == 1 ? parts[0] : cat(parts.Select(p => p.to(device)).ToList(), 0));
        }

        int at = 0;
        if (totals is not null && lengths is not null)
        {
            loss.Reset();
            loss.Accumulate(values.AsSpan(at, lengths[0]));
            at += lengths[0];
            for (int i = 0; i < metrics.Count; i++)
            {
                metrics[i].Reset();
                metrics[i].Accumulate(values.AsSpan(at, lengths[i + 1]));
                at += lengths[i + 1];
            }
        }

        foreach (var name in stepSums.Keys)
        {
            stepMeans[name] = values[at] / values[at + 1];
            at += 2;
        }

        foreach (var name in latestOnDevice.Keys)
        {
            latest[name] = values[at++];
        }

        unread = false;
    }
}
