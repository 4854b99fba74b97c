using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MixFit.Tracking.Store;

/// <summary>Reads and writes <c>metrics.jsonl</c> / <c>system.jsonl</c>: one JSON object per line with kind, step, time and values.</summary>
public static class MetricsFile
{
    /// <summary>Formats a record as one JSON line (no trailing newline).</summary>
    public static string Format(MetricPoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        var text = new StringBuilder(64 + (point.Values.Count * 24));
        text.Append("{\"kind\":\"").Append(point.Kind).Append("\",\"step\":").Append(point.Step.ToString(CultureInfo.InvariantCulture))
            .Append(",\"time\":").Append(point.Time.ToString("R", CultureInfo.InvariantCulture));
        foreach (var (name, value) in point.Values)
        {
            text.Append(',').Append(JsonSerializer.Serialize(name)).Append(':')
                .Append(double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : $"\"{(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity")}\"");
        }

        return text.Append('}').ToString();
    }

    /// <summary>Reads every valid line; corrupt or truncated lines are skipped and described in <paramref name="problems"/>.</summary>
    public static IReadOnlyList<MetricPoint> Read(string path, List<string> problems)
    {
        var points = new List<MetricPoint>();
        if (!File.Exists(path))
        {
            return points;
        }

        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                var values = new Dictionary<string, double>();
                foreach (var property in root.EnumerateObject())
                {
                    if (property.Name is "kind" or "step" or "time")
                    {
                        continue;
                    }

                    values[property.Name] = property.Value.ValueKind == JsonValueKind.String
                        ? double.Parse(property.Value.GetString()!, CultureInfo.InvariantCulture)
                        : property.Value.GetDouble();
                }

                points.Add(new MetricPoint(root.GetProperty("kind").GetString()!, root.GetProperty("step").GetInt64(), root.GetProperty("time").GetDouble(), values));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                problems.Add($"{path}:{lineNumber}: skipped a corrupt line ({e.Message.Split('.')[0]})");
            }
        }

        return points;
    }
}
