namespace MixFit.Data;

/// <summary>One image of a dataset: its file, its class (null when unlabelled), its name as listed, and the CSV line.</summary>
/// <param name="Path">Full path of the image file.</param>
/// <param name="Label">0-based class index, or null.</param>
/// <param name="Name">The name as written in the CSV (or the file name).</param>
/// <param name="Line">The CSV line, 0 for folder datasets.</param>
public sealed record ImageRecord(string Path, int? Label, string Name, int Line);
