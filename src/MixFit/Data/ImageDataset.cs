namespace MixFit.Data;

/// <summary>
/// A labelled (or unlabelled) list of image files: the article's <c>train/images/*.jpg</c> + <c>train.csv</c>
/// layout, or one folder per class. Validated on creation: every file exists, every category is known, no name
/// appears twice, at least one image.
/// </summary>
public sealed class ImageDataset
{
    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp" };

    /// <summary>Creates a dataset from records.</summary>
    /// <exception cref="InvalidDataException">No records.</exception>
    public ImageDataset(IReadOnlyList<ImageRecord> records, LabelMap? labels, IReadOnlyList<DataProblem>? problems = null, string source = "")
    {
        Records = records ?? throw new ArgumentNullException(nameof(records));
        if (records.Count == 0)
        {
            throw new InvalidDataException($"{source}: the dataset is empty (no images).");
        }

        Labels = labels;
        Problems = problems ?? Array.Empty<DataProblem>();
        Source = source;
    }

    /// <summary>The images, in file order.</summary>
    public IReadOnlyList<ImageRecord> Records { get; }

    /// <summary>The label map, or null for an unlabelled dataset.</summary>
    public LabelMap? Labels { get; }

    /// <summary>Whether <paramref name="path"/> has an image extension MixFit decodes (.png, .jpg, .jpeg, .webp, .gif, .bmp).</summary>
    public static bool IsImageFile(string path) => ImageExtensions.Contains(Path.GetExtension(path));

    /// <summary>Rows skipped as bad (only with skip-bad).</summary>
    public IReadOnlyList<DataProblem> Problems { get; }

    /// <summary>Where the dataset came from.</summary>
    public string Source { get; }

    /// <summary>Number of images.</summary>
    public int Count => Records.Count;

    /// <summary>Reads a CSV of image names (and category ids) whose images live in <paramref name="imagesDirectory"/>.</summary>
    /// <exception cref="InvalidDataException">The first bad row (missing image, unknown category, duplicate name, malformed CSV), naming file, line and value.</exception>
    public static ImageDataset FromCsv(string csvPath, string imagesDirectory, CsvDatasetOptions? options = null)
    {
        options ??= new CsvDatasetOptions();
        var csv = CsvFile.Read(csvPath, options.SkipBad);
        if (csv.Rows.Count == 0)
        {
            throw new InvalidDataException($"{csvPath}: the dataset is empty (no rows after the header).");
        }

        int imageColumn = csv.Column(options.ImageColumn);
        int? labelColumn = options.LabelColumn is null ? null : csv.Column(options.LabelColumn);
        var labels = labelColumn is { } lc ? options.LabelMap ?? LabelMap.FromDistinct(csv.Rows.Select(r => r.Fields[lc])) : null;

        var problems = new List<DataProblem>(csv.Problems);
        var records = new List<ImageRecord>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var row in csv.Rows)
        {
            string name = row.Fields[imageColumn].Trim();
            DataProblem? problem = null;
            int? label = null;
            string path = Path.Combine(imagesDirectory, name);
            if (name.Length == 0)
            {
                problem = new DataProblem(csvPath, row.Line, name, $"empty {options.ImageColumn} field");
            }
            else if (!options.AllowOutsideImages && !ImagePaths.StaysInside(imagesDirectory, name))
            {
                // One message whether or not such a file exists outside: the CSV learns nothing about the machine.
                problem = new DataProblem(csvPath, row.Line, name,
                    $"the image name leads outside the images folder {imagesDirectory} (names are relative paths inside it; CsvDatasetOptions.AllowOutsideImages allows others)");
            }
            else if (seen.TryGetValue(name, out int firstLine))
            {
                problem = new DataProblem(csvPath, row.Line, name, $"duplicate image name (first listed on line {firstLine})");
            }
            else if (!File.Exists(path))
            {
                problem = new DataProblem(csvPath, row.Line, name, $"image file not found: {path}");
            }
            else if (labelColumn is { } column)
            {
                string id = row.Fields[column].Trim();
                if (labels!.TryGetIndex(id, out int index))
                {
                    label = index;
                }
                else
                {
                    problem = new DataProblem(csvPath, row.Line, id, $"unknown category (known: {string.Join(", ", labels.Ids)})");
                }
            }

            if (problem is not null)
            {
                if (!options.SkipBad)
                {
                    throw new InvalidDataException(problem.ToString());
                }

                problems.Add(problem);
                continue;
            }

            seen[name] = row.Line;
            records.Add(new ImageRecord(path, label, name, row.Line));
        }

        return new ImageDataset(records, labels, problems, csvPath);
    }

    /// <summary>Reads a folder with one sub-folder per class (class order: sorted folder names).</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">No class folders or no images.</exception>
    public static ImageDataset FromFolders(string root)
    {
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"Dataset folder not found: {root}");
        }

        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0)
        {
            throw new InvalidDataException($"{root}: no class folders (expected one sub-folder of images per class).");
        }

        var labels = new LabelMap(classes.Select(c => (c!, c!)));
        var records = new List<ImageRecord>();
        for (int i = 0; i < classes.Length; i++)
        {
            foreach (var file in Directory.GetFiles(Path.Combine(root, classes[i]!)).Where(f => ImageExtensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal))
            {
                records.Add(new ImageRecord(file, i, $"{classes[i]}/{Path.GetFileName(file)}", 0));
            }
        }

        return new ImageDataset(records, labels, null, root);
    }

    /// <summary>Images per class (index = class).</summary>
    public int[] ClassCounts()
    {
        var counts = new int[Labels?.Count ?? 0];
        foreach (var record in Records)
        {
            if (record.Label is { } label)
            {
                counts[label]++;
            }
        }

        return counts;
    }

    /// <summary>
    /// Splits into training and validation sets, stratified: each class contributes round(fraction * its count)
    /// images, chosen with <paramref name="seed"/>. Same seed, same split.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The fraction is not in (0, 1).</exception>
    public (ImageDataset Train, ImageDataset Validation) Split(double validationFraction, int seed = 0)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, $"The validation fraction must be in (0, 1), got {validationFraction}.");
        }

        var random = new Random(seed);
        var held = new HashSet<int>();
        foreach (var group in Enumerable.Range(0, Records.Count).GroupBy(i => Records[i].Label ?? -1).OrderBy(g => g.Key))
        {
            var members = group.OrderBy(_ => random.Next()).ToList();
            int take = (int)Math.Round(members.Count * validationFraction, MidpointRounding.AwayFromZero);
            held.UnionWith(members.Take(take));
        }

        // Both parts keep the file order.
        var train = Enumerable.Range(0, Records.Count).Where(i => !held.Contains(i)).Select(i => Records[i]).ToList();
        var validation = Enumerable.Range(0, Records.Count).Where(held.Contains).Select(i => Records[i]).ToList();
        return (new ImageDataset(train, Labels, Problems, Source), new ImageDataset(validation, Labels, null, Source));
    }

    /// <summary>A new dataset with the first <paramref name="count"/> images.</summary>
    public ImageDataset Take(int count) => new(Records.Take(count).ToArray(), Labels, Problems, Source);
}
