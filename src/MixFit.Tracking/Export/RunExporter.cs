using System.Globalization;
using System.Text;
using System.Text.Json;
using MixFit.IO;
using MixFit.Tracking.Store;

namespace MixFit.Tracking.Export;

/// <summary>Exports a run's records as TensorBoard event files, CSV or JSON.</summary>
public static class RunExporter
{
    /// <summary>
    /// Writes TensorBoard files under <paramref name="directory"/>: <c>train/</c> with <c>epoch_&lt;metric&gt;</c> scalars
    /// (and <c>batch_&lt;metric&gt;</c> per step), <c>validation/</c> with the <c>val_</c> metrics under the same tags (as Keras' callback does).
    /// </summary>
    public static IReadOnlyList<string> ToTensorBoard(RunStore store, string runId, string directory)
    {
        ArgumentNullException.ThrowIfNull(store);
        RunStore.RefuseOutput(store.Root, directory, "The TensorBoard folder");
        using var train = new TensorBoardWriter(Path.Combine(directory, "train"));
        using var validation = new TensorBoardWriter(Path.Combine(directory, "validation"));
        foreach (var point in store.Metrics(runId, "epoch"))
        {
            foreach (var (name, value) in point.Values)
            {
                if (name.StartsWith("val_", StringComparison.Ordinal))
                {
                    validation.AddScalar("epoch_" + name[4..], value, point.Step, point.Time);
                }
                else
                {
                    train.AddScalar("epoch_" + name, value, point.Step, point.Time);
                }
            }
        }

        foreach (var point in store.Metrics(runId, "step"))
        {
            foreach (var (name, value) in point.Values)
            {
                train.AddScalar("batch_" + name, value, point.Step, point.Time);
            }
        }

        return new[] { train.Path, validation.Path };
    }

    /// <summary>Writes one CSV row per record: <c>kind,step,time,</c> + sorted metric names; missing values empty.</summary>
    public static void ToCsv(RunStore store, string runId, string path)
    {
        ArgumentNullException.ThrowIfNull(store);
        RunStore.RefuseOutput(store.Root, path, "The CSV file");
        var points = new[] { "step", "epoch", "system" }.SelectMany(kind => store.Metrics(runId, kind)).ToList();
        var names = points.SelectMany(p => p.Values.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var text = new StringBuilder("kind,step,time");
        foreach (var name in names)
        {
            text.Append(',').Append(Quote(name));
        }

        text.Append('\n');
        foreach (var point in points)
        {
            text.Append(point.Kind).Append(',').Append(point.Step.ToString(CultureInfo.InvariantCulture)).Append(',').Append(point.Time.ToString("R", CultureInfo.InvariantCulture));
            foreach (var name in names)
            {
                text.Append(',');
                if (point.Values.TryGetValue(name, out double v))
                {
                    text.Append(v.ToString("R", CultureInfo.InvariantCulture));
                }
            }

            text.Append('\n');
        }

        AtomicFile.WriteAllText(path, text.ToString());
    }

    /// <summary>Writes the run's metadata, config, summary and records as one JSON document.</summary>
    public static void ToJson(RunStore store, string runId, string path)
    {
        ArgumentNullException.ThrowIfNull(store);
        RunStore.RefuseOutput(store.Root, path, "The JSON file");
        var run = store.Get(runId);
        var document = new
        {
            run.Id, run.Name, run.Project, run.Tags, run.Notes, Status = run.Status.ToString(), run.StartedAt, run.EndedAt,
            Config = run.Config, run.Summary,
            Steps = store.Metrics(run.Id, "step").Select(p => new { p.Step, p.Time, p.Values }),
            Epochs = store.Metrics(run.Id, "epoch").Select(p => new { p.Step, p.Time, p.Values }),
            System = store.Metrics(run.Id, "system").Select(p => new { p.Step, p.Time, p.Values }),
        };
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(document, new JsonSerializerOptions
        {
            WriteIndented = true,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,    // the run files' own style (started_at, ms_per_step)
        }));
    }

    private static string Quote(string value) => value.Contains(',') || value.Contains('"') ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
}
