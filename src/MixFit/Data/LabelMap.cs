using System.Globalization;
using System.Text.Json;

namespace MixFit.Data;

/// <summary>
/// Maps the category ids found in a dataset (e.g. <c>1</c>..<c>5</c>) to 0-based class indices and display names,
/// and back (predictions are written with the original ids).
/// </summary>
/// <remarks>JSON form: an object from category id to name, in class order: <c>{"1": "Cargo", "2": "Military"}</c>.</remarks>
public sealed class LabelMap
{
    private readonly Dictionary<string, int> indexById;

    /// <summary>Creates a map from (category id, name) pairs in class order.</summary>
    /// <exception cref="ArgumentException">No entries, or a duplicate id.</exception>
    public LabelMap(IEnumerable<(string Id, string Name)> entries)
    {
        var list = entries.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("A label map needs at least one category.", nameof(entries));
        }

        Ids = list.Select(e => e.Id).ToArray();
        Names = list.Select(e => e.Name).ToArray();
        indexById = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Ids.Count; i++)
        {
            if (!indexById.TryAdd(Ids[i], i))
            {
                throw new ArgumentException($"Category id \"{Ids[i]}\" appears twice in the label map.", nameof(entries));
            }
        }
    }

    /// <summary>The article's ship dataset: categories 1..5 = Cargo, Military, Carrier, Cruise, Tankers.</summary>
    public static LabelMap Ships { get; } = new(new[] { ("1", "Cargo"), ("2", "Military"), ("3", "Carrier"), ("4", "Cruise"), ("5", "Tankers") });

    /// <summary>Category ids in class order.</summary>
    public IReadOnlyList<string> Ids { get; }

    /// <summary>Class names in class order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Number of classes.</summary>
    public int Count => Ids.Count;

    /// <summary>The class index of a category id, or false when unknown.</summary>
    public bool TryGetIndex(string id, out int index) => indexById.TryGetValue(id.Trim(), out index);

    /// <summary>The category id of a class index.</summary>
    public string IdOf(int index) => Ids[index];

    /// <summary>A map over the distinct values, sorted numerically when all are integers, otherwise ordinally; names = ids.</summary>
    public static LabelMap FromDistinct(IEnumerable<string> values)
    {
        var distinct = values.Select(v => v.Trim()).Distinct(StringComparer.Ordinal).ToList();
        bool numeric = distinct.All(v => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));
        var ordered = numeric
            ? distinct.OrderBy(v => long.Parse(v, CultureInfo.InvariantCulture))
            : distinct.OrderBy(v => v, StringComparer.Ordinal);
        return new LabelMap(ordered.Select(v => (v, v)));
    }

    /// <summary>Reads a JSON label map.</summary>
    /// <exception cref="InvalidDataException">Not a JSON object of strings; the message names the file.</exception>
    public static LabelMap Load(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{path}: a label map must be a JSON object from category id to name, e.g. {{\"1\": \"Cargo\"}}.");
            }

            return new LabelMap(document.RootElement.EnumerateObject().Select(p => (p.Name, p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.ToString())));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }
    }

    /// <summary>Writes the map as JSON.</summary>
    public void Save(string path)
    {
        var ordered = new Dictionary<string, string>();
        for (int i = 0; i < Count; i++)
        {
            ordered[Ids[i]] = Names[i];
        }

        File.WriteAllText(path, JsonSerializer.Serialize(ordered, new JsonSerializerOptions { WriteIndented = true }));
    }
}
