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

    /// <summary>A line longer than this (1 MiB) is skipped without being read into memory.</summary>
    public const int MaxLineBytes = 1 << 20;

    /// <summary>
    /// Reads every valid line. A malformed line (not JSON, a missing or non-string <c>kind</c>, a non-integer
    /// <c>step</c>, a value that is neither a finite number nor "NaN"/"Infinity"/"-Infinity") or one longer than
    /// <see cref="MaxLineBytes"/> is skipped and described in <paramref name="problems"/> as <c>file:line: reason</c>,
    /// never echoed back.
    /// </summary>
    public static IReadOnlyList<MetricPoint> Read(string path, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var points = new List<MetricPoint>();
        if (!File.Exists(path))
        {
            return points;
        }

        foreach (var (lineNumber, bytes, length) in Lines(path))
        {
            if (length == 0)
            {
                continue;
            }

            if (bytes is null)
            {
                problems.Add($"{path}:{lineNumber}: skipped a line of {length:N0} bytes (longer than {MaxLineBytes:N0})");
                continue;
            }

            try
            {
                points.Add(Parse(bytes));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or InvalidDataException)
            {
                problems.Add($"{path}:{lineNumber}: skipped a corrupt line ({e.Message.Split('.')[0]})");
            }
        }

        return points;
    }

    private static MetricPoint Parse(byte[] line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException("not a JSON object");
        }

        string kind = root.GetProperty("kind") is { ValueKind: JsonValueKind.String } k && k.GetString() is { Length: > 0 and <= 32 } name
            ? name
            : throw new InvalidDataException("\"kind\" must be a non-empty string");
        long step = root.GetProperty("step").TryGetInt64(out long s) ? s : throw new InvalidDataException("\"step\" must be an integer");
        double time = root.GetProperty("time").TryGetDouble(out double t) && double.IsFinite(t) ? t : throw new InvalidDataException("\"time\" must be a number");
        var values = new Dictionary<string, double>();
        foreach (var property in root.EnumerateObject())
        {
            if (property.Name is "kind" or "step" or "time")
            {
                continue;
            }

            values[property.Name] = property.Value.ValueKind switch
            {
                JsonValueKind.Number when property.Value.TryGetDouble(out double v) && double.IsFinite(v) => v,
                JsonValueKind.String when property.Value.GetString() is "NaN" => double.NaN,
                JsonValueKind.String when property.Value.GetString() is "Infinity" => double.PositiveInfinity,
                JsonValueKind.String when property.Value.GetString() is "-Infinity" => double.NegativeInfinity,
                _ => throw new InvalidDataException($"the value of \"{(property.Name.Length <= 40 ? property.Name : property.Name[..40] + "...")}\" is not a number"),
            };
        }

        return new MetricPoint(kind, step, time, values);
    }

    /// <summary>The file's lines as UTF-8 bytes with their 1-based numbers; a line over <see cref="MaxLineBytes"/> comes as null bytes with its length, unread.</summary>
    private static IEnumerable<(int Number, byte[]? Bytes, long Length)> Lines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
        var buffer = new byte[1 << 16];
        var line = new MemoryStream();
        long length = 0;
        int number = 0;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            int start = 0;
            for (int i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n')
                {
                    continue;
                }

                Append(buffer, start, i - start);
                yield return Finish();
                start = i + 1;
            }

            Append(buffer, start, read - start);
        }

        if (length > 0)
        {
            yield return Finish();
        }

        void Append(byte[] source, int offset, int count)
        {
            length += count;
            if (length <= MaxLineBytes)
            {
                line.Write(source, offset, count);
            }
        }

        (int, byte[]?, long) Finish()
        {
            number++;
            var result = (number, length <= MaxLineBytes ? TrimCarriageReturn(line.ToArray()) : null, length);
            line.SetLength(0);
            length = 0;
            return result;
        }
    }

    private static byte[] TrimCarriageReturn(byte[] bytes) => bytes.Length > 0 && bytes[^1] == (byte)'\r' ? bytes[..^1] : bytes;
}
