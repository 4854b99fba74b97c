using System.Text;

namespace MixFit.Data;

/// <summary>
/// A small RFC 4180 CSV reader that reports problems by file and line: quoted fields (with <c>""</c> escapes and line
/// breaks inside quotes), CRLF or LF line ends, a UTF-8 byte-order mark, a required header, and the same number of
/// fields on every row.
/// </summary>
/// <remarks>
/// Hand-written rather than taken from a CSV library because every error must name the file, the line and what was
/// expected (an unbalanced quote reports the line where the quoted field started), and a bad row must be skippable.
/// </remarks>
public sealed class CsvFile
{
    private CsvFile(string path, IReadOnlyList<string> header, IReadOnlyList<CsvRow> rows, IReadOnlyList<DataProblem> problems)
    {
        Path = path;
        Header = header;
        Rows = rows;
        Problems = problems;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>The column names of the header line.</summary>
    public IReadOnlyList<string> Header { get; }

    /// <summary>The data rows (blank lines are ignored).</summary>
    public IReadOnlyList<CsvRow> Rows { get; }

    /// <summary>Rows skipped because they were malformed (only with skip-bad).</summary>
    public IReadOnlyList<DataProblem> Problems { get; }

    /// <summary>The index of <paramref name="column"/> in the header.</summary>
    /// <exception cref="InvalidDataException">No such column; the message lists the header.</exception>
    public int Column(string column)
    {
        int index = Header.ToList().FindIndex(h => string.Equals(h, column, StringComparison.OrdinalIgnoreCase));
        return index >= 0
            ? index
            : throw new InvalidDataException($"{Path}:1: no column \"{column}\" in the header (columns: {string.Join(", ", Header)}).");
    }

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="skipBad">Skip rows with the wrong number of fields (recorded in <see cref="Problems"/>) instead of failing.</param>
    /// <exception cref="InvalidDataException">Missing header, wrong field count, or an unbalanced quote; the message names file and line.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static CsvFile Read(string path, bool skipBad = false)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"CSV file not found: {path}", path);
        }

        string text = File.ReadAllText(path, new UTF8Encoding(false));
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        var records = Parse(text, path);
        if (records.Count == 0 || records[0].Fields.All(string.IsNullOrWhiteSpace))
        {
            throw new InvalidDataException($"{path}:1: missing header line (expected column names such as image,category).");
        }

        var header = records[0].Fields.Select(f => f.Trim()).ToArray();
        var rows = new List<CsvRow>();
        var problems = new List<DataProblem>();
        foreach (var record in records.Skip(1))
        {
            if (record.Fields.Count == 1 && record.Fields[0].Length == 0)
            {
                continue;
            }

            if (record.Fields.Count != header.Length)
            {
                var problem = new DataProblem(path, record.Line, string.Join(",", record.Fields),
                    $"expected {header.Length} fields ({string.Join(",", header)}), found {record.Fields.Count}");
                if (!skipBad)
                {
                    throw new InvalidDataException(problem.ToString());
                }

                problems.Add(problem);
                continue;
            }

            rows.Add(new CsvRow(record.Line, record.Fields));
        }

        return new CsvFile(path, header, rows, problems);
    }

    private static List<CsvRow> Parse(string text, string path)
    {
        var records = new List<CsvRow>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1;
        int recordLine = 1;
        int quoteLine = 0;
        bool inQuotes = false;
        bool fieldStarted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (inQuotes)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i++;
                    }
                    else
                    {
                        inQuotes = false;
                    }
                }
                else
                {
                    if (c == '\n')
                    {
                        line++;
                    }

                    field.Append(c);
                }

                continue;
            }

            switch (c)
            {
                case '"' when field.Length == 0 && !fieldStarted:
                    inQuotes = true;
                    fieldStarted = true;
                    quoteLine = line;
                    break;
                case '"':
                    throw new InvalidDataException($"{path}:{line}: unexpected quote inside an unquoted field (quote the whole field and double inner quotes).");
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldStarted = false;
                    break;
                case '\r' when i + 1 < text.Length && text[i + 1] == '\n':
                    break;
                case '\r':
                case '\n':
                    fields.Add(field.ToString());
                    records.Add(new CsvRow(recordLine, fields.ToArray()));
                    fields.Clear();
                    field.Clear();
                    fieldStarted = false;
                    line++;
                    recordLine = line;
                    break;
                default:
                    field.Append(c);
                    fieldStarted = true;
                    break;
            }
        }

        if (inQuotes)
        {
            throw new InvalidDataException($"{path}:{quoteLine}: unbalanced quote: the quoted field starting here is never closed.");
        }

        if (field.Length > 0 || fields.Count > 0 || fieldStarted)
        {
            fields.Add(field.ToString());
            records.Add(new CsvRow(recordLine, fields.ToArray()));
        }

        return records;
    }
}
