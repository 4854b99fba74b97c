using System.Buffers.Binary;
using System.IO.Compression;

namespace MixFit.Data;

/// <summary>
/// Reads IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed, holding unsigned bytes.
/// </summary>
/// <remarks>
/// Layout: two zero bytes, a type byte (0x08 = unsigned byte), a dimension count, then one big-endian 32-bit size per
/// dimension, then the data. Errors name the file and what was expected.
/// </remarks>
public static class IdxReader
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads <paramref name="path"/>; a name ending in <c>.gz</c> is decompressed.</summary>
    /// <exception cref="InvalidDataException">Not an unsigned-byte IDX file, or truncated; the message names the file.</exception>
    public static IdxArray ReadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        return Read(stream, path, path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Reads an IDX array from <paramref name="stream"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">Not an unsigned-byte IDX file, or truncated.</exception>
    public static IdxArray Read(Stream stream, string source, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var input = gzip ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true) : stream;
        var header = ReadExactly(input, 4, source, "the 4-byte magic number");
        if (header[0] != 0 || header[1] != 0)
        {
            throw new InvalidDataException($"{source}: not an IDX file (magic bytes {header[0]:x2} {header[1]:x2}, expected 00 00).");
        }

        if (header[2] != UnsignedByte)
        {
            throw new InvalidDataException($"{source}: IDX element type 0x{header[2]:x2} is not supported (expected 0x08, unsigned byte).");
        }

        int rank = header[3];
        if (rank is < 1 or > 4)
        {
            throw new InvalidDataException($"{source}: IDX dimension count {rank} is out of range (expected 1 to 4).");
        }

        var dims = ReadExactly(input, 4 * rank, source, $"{rank} dimension sizes");
        var shape = new int[rank];
        long total = 1;
        for (int i = 0; i < rank; i++)
        {
            shape[i] = checked((int)BinaryPrimitives.ReadUInt32BigEndian(dims.AsSpan(4 * i)));
            total *= shape[i];
        }

        if (total > int.MaxValue)
        {
            throw new InvalidDataException($"{source}: IDX shape [{string.Join(",", shape)}] is too large.");
        }

        var data = ReadExactly(input, (int)total, source, $"{total} data bytes for shape [{string.Join(",", shape)}]");
        return new IdxArray(shape, data);
    }

    private static byte[] ReadExactly(Stream stream, int count, string source, string what)
    {
        var buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = stream.Read(buffer, read, count - read);
            if (n == 0)
            {
                throw new InvalidDataException($"{source}: truncated IDX file: expected {what}, got only {read} of {count} bytes.");
            }

            read += n;
        }

        return buffer;
    }
}
