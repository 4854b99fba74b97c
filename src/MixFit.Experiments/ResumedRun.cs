using System.Text.Json;
using System.Text.Json.Nodes;

namespace MixFit.Experiments;

/// <summary>
/// <c>mixfit-run.json</c> in a checkpoint folder: the tracked run the checkpoints belong to, so <c>--resume</c>
/// continues that run (W&amp;B's <c>resume="allow"</c>) instead of starting another with the same name.
/// </summary>
internal static class ResumedRun
{
    public const string FileName = "mixfit-run.json";

    /// <summary>The run id recorded in <paramref name="folder"/>, or null (none, or unreadable: a new run starts).</summary>
    public static string? Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        try
        {
            return File.Exists(path) && JsonNode.Parse(File.ReadAllText(path))?["run_id"]?.GetValue<string>() is { } id && MixFit.Tracking.Store.RunId.IsValid(id) ? id : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Records <paramref name="runId"/> in <paramref name="folder"/> (nothing when null or already recorded).</summary>
    public static void Write(string folder, string? runId)
    {
        if (runId is null || Read(folder) == runId)
        {
            return;
        }

        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, FileName), new JsonObject { ["run_id"] = runId }.ToJsonString());
    }
}
