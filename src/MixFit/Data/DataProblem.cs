namespace MixFit.Data;

/// <summary>A bad input found while reading a dataset: where, what, and why.</summary>
/// <param name="File">The file at fault (a CSV or an image).</param>
/// <param name="Line">The CSV line, or 0 when not from a CSV.</param>
/// <param name="Value">The offending value.</param>
/// <param name="Reason">What was expected.</param>
public sealed record DataProblem(string File, int Line, string Value, string Reason)
{
    /// <summary><c>file:line: reason (value "…")</c>.</summary>
    public override string ToString() => $"{File}{(Line > 0 ? $":{Line}" : "")}: {Reason} (value \"{Value}\")";
}
