using System.Text.RegularExpressions;

namespace MixFit.Tracking.Store;

/// <summary>
/// The store's run id format, <c>yyyyMMdd-HHmmss-xxxxxx</c> (UTC start time and six hex digits). Ids name folders, so
/// anything else (separators, <c>..</c>, an empty or absolute id) is refused wherever an id comes from outside.
/// </summary>
public static partial class RunId
{
    /// <summary>Whether <paramref name="id"/> has the store's format.</summary>
    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id);

    /// <summary>Returns <paramref name="id"/> when valid.</summary>
    /// <exception cref="InvalidDataException">Not a run id; the message names <paramref name="source"/> and shows the expected form.</exception>
    public static string Validate(string? id, string source) => IsValid(id)
        ? id!
        : throw new InvalidDataException($"{source}: \"{Shorten(id)}\" is not a run id (expected yyyyMMdd-HHmmss-xxxxxx, e.g. 20261201-150312-3fa9c2).");

    /// <summary>A new id for a run starting now.</summary>
    public static string New() => $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";

    private static string Shorten(string? id) => id is null ? "(none)" : id.Length <= 64 ? id : id[..64] + "...";

    [GeneratedRegex("^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
