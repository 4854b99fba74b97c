namespace MixFit.Data;

/// <summary>How to read an image-folder + CSV dataset. Defaults match the article: columns <c>image</c> and <c>category</c>.</summary>
public sealed record CsvDatasetOptions
{
    /// <summary>The column with image file names (relative to the images folder). Default <c>image</c>.</summary>
    public string ImageColumn { get; init; } = "image";

    /// <summary>The column with category ids; null for an unlabelled (test) CSV. Default <c>category</c>.</summary>
    public string? LabelColumn { get; init; } = "category";

    /// <summary>Maps category ids to classes; null builds one from the CSV's distinct values.</summary>
    public LabelMap? LabelMap { get; init; }

    /// <summary>Skip bad rows (counted and listed in <see cref="ImageDataset.Problems"/>) instead of failing on the first.</summary>
    public bool SkipBad { get; init; }

    /// <summary>
    /// Let image names lead outside the images folder (absolute paths, <c>..</c>, symbolic links to elsewhere). Default
    /// false: a CSV can only name files inside the folder it was given with.
    /// </summary>
    public bool AllowOutsideImages { get; init; }
}
