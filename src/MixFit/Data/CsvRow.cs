namespace MixFit.Data;

/// <summary>One CSV record and the line it starts on (1-based; the header is line 1).</summary>
/// <param name="Line">The line number.</param>
/// <param name="Fields">The field values, unquoted.</param>
public sealed record CsvRow(int Line, IReadOnlyList<string> Fields);
