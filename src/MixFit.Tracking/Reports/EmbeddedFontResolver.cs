using System.Reflection;
using ScottPlot;
using SkiaSharp;

namespace MixFit.Tracking.Reports;

/// <summary>
/// Serves the report's embedded DejaVu Sans to ScottPlot straight from the assembly's resources, so rendering a chart
/// writes no font file anywhere (machines without fonts still get legible charts).
/// </summary>
internal sealed class EmbeddedFontResolver(string name) : IFontResolver
{
    private static readonly Lazy<byte[]> Font = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("MixFit.Tracking.DejaVuSans.ttf")!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    /// <inheritdoc />
    public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) => Typeface(fontName);

    /// <inheritdoc />
    public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) => Typeface(fontName);

    // One regular face for every style, as the file registration did; null for other names (the next resolver answers).
    private SKTypeface? Typeface(string fontName)
    {
        if (!string.Equals(fontName, name, StringComparison.Ordinal))
        {
            return null;
        }

        using var data = SKData.CreateCopy(Font.Value);
        return SKTypeface.FromData(data);
    }
}
