namespace MixFit.Tracking.Store;

/// <summary>One logged record: several named values at one step (a line of <c>metrics.jsonl</c> or <c>system.jsonl</c>).</summary>
/// <param name="Kind"><c>step</c>, <c>epoch</c> or <c>system</c>.</param>
/// <param name="Step">Global step (or epoch index for epoch records, seconds since start for system records).</param>
/// <param name="Time">Wall time, seconds since the Unix epoch.</param>
/// <param name="Values">The values by metric name.</param>
public sealed record MetricPoint(string Kind, long Step, double Time, IReadOnlyDictionary<string, double> Values);
