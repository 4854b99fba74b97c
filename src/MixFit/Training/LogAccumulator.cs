using MixFit.Metrics;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>
/// The logs of one loop (a training epoch, an evaluation): the loss as a <see cref="Mean"/>, the compiled metrics,
/// and extra values (host values such as <c>lr</c>; device values such as <c>loss_scale</c>, whose latest value is
/// kept). Every step's device values come to the host in one transfer and are read back by name.
/// </summary>
internal sealed class LogAccumulator
{
    private readonly Mean loss = new();
    private readonly IReadOnlyList<Metric> metrics;
    private readonly Dictionary<string, double> hostValues = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> latest = new(StringComparer.Ordinal);

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

    /// <summary>The samples behind the loss so far (each batch adds its size).</summary>
    public double Samples => loss.Weight;

    /// <summary>Sets a host-side value reported as <paramref name="name"/> (e.g. the learning rate).</summary>
    public void Set(string name, double value) => hostValues[name] = value;

    /// <summary>
    /// Adds a batch: its mean loss (weighted by the batch size, as Keras' loss tracker), the metrics' state over
    /// <paramref name="output"/> and <paramref name="target"/> (weighted by <paramref name="sampleWeight"/> when given),
    /// and the latest <paramref name="deviceValues"/> (0-dim tensors), all read in one device-to-host transfer.
    /// </summary>
    public void Update(Tensor batchLoss, Tensor output, Tensor target, Tensor? sampleWeight, IReadOnlyDictionary<string, Tensor> deviceValues)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var detached = output.detach();
        var parts = new List<Tensor> { Mean.BatchTotals(batchLoss, output.shape[0]) };
        parts.AddRange(metrics.Select(m => m.BatchTotals(detached, target, sampleWeight)));
        parts.AddRange(deviceValues.Values.Select(v => v.reshape(1).to(ScalarType.Float32, batchLoss.device)));
        var lengths = parts.Select(p => (int)p.numel()).ToArray();
        var values = MixFit.Kernels.HostReads.Values<double>(cat(parts.Select(p => p.to(ScalarType.Float32, batchLoss.device)).ToList(), 0).to(ScalarType.Float64));
        int at = 0;
        loss.Accumulate(values.AsSpan(at, lengths[0]));
        at += lengths[0];
        for (int i = 0; i < metrics.Count; i++)
        {
            metrics[i].Accumulate(values.AsSpan(at, lengths[i + 1]));
            at += lengths[i + 1];
        }

        foreach (var name in deviceValues.Keys)
        {
            latest[name] = values[at++];
        }
    }

    /// <summary>The logs so far, by name: <c>loss</c>, the metrics, the host values, the device values.</summary>
    public Dictionary<string, double> Logs()
    {
        var logs = new Dictionary<string, double>(StringComparer.Ordinal) { [loss.Name] = loss.Result() };
        foreach (var metric in metrics)
        {
            logs[metric.Name] = metric.Result();
        }

        foreach (var (name, value) in hostValues.Concat(latest))
        {
            logs[name] = value;
        }

        return logs;
    }
}
