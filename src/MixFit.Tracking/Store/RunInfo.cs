using System.Text.Json.Nodes;

namespace MixFit.Tracking.Store;

/// <summary>What a run folder's <c>run.json</c> holds (and the store indexes).</summary>
public sealed record RunInfo
{
    /// <summary>Unique id, e.g. <c>20261128-143012-a1b2c3</c>.</summary>
    public required string Id { get; init; }

    /// <summary>Display name.</summary>
    public required string Name { get; init; }

    /// <summary>Project the run belongs to. Default <c>mixfit</c>.</summary>
    public string Project { get; init; } = "mixfit";

    /// <summary>Free tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();

    /// <summary>Free notes.</summary>
    public string Notes { get; init; } = "";

    /// <summary>Status.</summary>
    public RunStatus Status { get; init; } = RunStatus.Running;

    /// <summary>Start time (UTC).</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>End time (UTC), or null while running.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Machine name of the process that logged it.</summary>
    public string Host { get; init; } = "";

    /// <summary>Process id that logged it.</summary>
    public int Pid { get; init; }

    /// <summary>Last sign of life (UTC), written with every flush.</summary>
    public DateTimeOffset Heartbeat { get; init; }

    /// <summary>The run's configuration (<c>config.json</c>).</summary>
    public JsonObject Config { get; init; } = new();

    /// <summary>Final values (<c>summary.json</c>): last and best per metric, training time, peak memory.</summary>
    public IReadOnlyDictionary<string, double> Summary { get; init; } = new Dictionary<string, double>();

    /// <summary>The run folder (not stored in <c>run.json</c>; it is wherever the folder is).</summary>
    public string Folder { get; init; } = "";
}
