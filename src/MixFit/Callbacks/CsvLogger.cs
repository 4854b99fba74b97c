using System.Globalization;
using System.Text;

namespace MixFit.Callbacks;

/// <summary>
/// Streams epoch logs to a CSV file (Keras' <c>CSVLogger</c>): header <c>epoch,</c> + sorted log names, missing values
/// <c>NA</c>; each row is flushed as written, so a crash keeps every finished epoch.
/// </summary>
public sealed class CsvLogger : Callback
{
    private readonly string path;
    private readonly bool append;
    private readonly char separator;
    private List<string>? keys;
    private StreamWriter? writer;

    /// <summary>Creates the logger for <paramref name="path"/>; <paramref name="append"/> continues an existing file (resume).</summary>
    public CsvLogger(string path, char separator = ',', bool append = false)
    {
        this.path = path ?? throw new ArgumentNullException(nameof(path));
        this.separator = separator;
        this.append = append;
    }

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs)
    {
        bool continuing = append && File.Exists(path) && new FileInfo(path).Length > 0;
        keys = null;
        if (continuing)
        {
            var header = File.ReadLines(path).First().Split(separator);
            keys = header.Skip(1).ToList();
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        writer = new StreamWriter(path, continuing, new UTF8Encoding(false));
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (writer is null)
        {
            return;
        }

        if (keys is null)
        {
            keys = logs.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
            writer.WriteLine(string.Join(separator, new[] { "epoch" }.Concat(keys)));
        }

        var row = keys.Select(k => logs.TryGetValue(k, out double v) ? v.ToString("R", CultureInfo.InvariantCulture) : "NA");
        writer.WriteLine(string.Join(separator, new[] { epoch.ToString(CultureInfo.InvariantCulture) }.Concat(row)));
        writer.Flush();
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        writer?.Dispose();
        writer = null;
    }
}
