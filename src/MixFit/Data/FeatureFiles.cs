using System.Globalization;
using System.Text;
using static TorchSharp.torch;

namespace MixFit.Data;

/// <summary>
/// Writes per-image feature vectors (a float [images, features] tensor) for other tools: CSV with a header
/// (<c>image,f0,f1,...</c>, values round-trip exactly) or NumPy's <c>.npy</c> (format 1.0, little-endian float32,
/// <c>numpy.load</c> reads it). Every file is written atomically: readers see the old file or the whole new one.
/// </summary>
public static class FeatureFiles
{
    /// <summary>Writes <c>image,f0,...</c> with one row per image (names quoted when they hold a comma or a quote).</summary>
    /// <exception cref="ArgumentException">The names and the rows disagree in number.</exception>
    public static void WriteCsv(string path, IReadOnlyList<string> names, Tensor features)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (features.dim() != 2 || features.shape[0] != names.Count)
        {
            throw new ArgumentException($"{names.Count} image names for features of shape [{string.Join(",", features.shape)}]; expected [{names.Count}, features].", nameof(features));
        }

        using var cpu = features.to(ScalarType.Float32).cpu().contiguous();
        var values = cpu.data<float>().ToArray();
        int width = (int)features.shape[1];
        var text = new StringBuilder("image");
        for (int f = 0; f < width; f++)
        {
            text.Append(",f").Append(f.ToString(CultureInfo.InvariantCulture));
        }

        text.Append('\n');
        for (int i = 0; i < names.Count; i++)
        {
            text.Append(names[i].Contains(',') || names[i].Contains('"') ? "\"" + names[i].Replace("\"", "\"\"") + "\"" : names[i]);
            for (int f = 0; f < width; f++)
            {
                text.Append(',').Append(values[(i * width) + f].ToString("R", CultureInfo.InvariantCulture));
            }

            text.Append('\n');
        }

        IO.AtomicFile.WriteAllText(path, text.ToString());
    }

    /// <summary>Writes NumPy's .npy format 1.0: magic, the header dict padded to 64 bytes, little-endian float32 data.</summary>
    public static void WriteNpy(string path, Tensor features)
    {
        using var cpu = features.to(ScalarType.Float32).cpu().contiguous();
        var values = cpu.data<float>().ToArray();
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({features.shape[0]}, {features.shape[1]}), }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + ((64 - (total % 64)) % 64)) + "\n";
        using var stream = new MemoryStream();
        stream.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        stream.Write(BitConverter.GetBytes((ushort)header.Length));
        stream.Write(Encoding.ASCII.GetBytes(header));
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        stream.Write(bytes);
        IO.AtomicFile.WriteAllBytes(path, stream.ToArray());
    }

    /// <summary>Writes one image name per line (the row order of a .npy file).</summary>
    public static void WriteNames(string path, IReadOnlyList<string> names) => IO.AtomicFile.WriteAllText(path, string.Join('\n', names) + "\n");
}
