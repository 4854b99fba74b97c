using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// mapping names to dtype, shape and byte offsets (plus string <c>__metadata__</c>), then the raw little-endian data.
/// </summary>
/// <remarks>Safe to load (no code execution), memory-layout simple, and readable by PyTorch, JAX and others.</remarks>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";

    private static readonly Dictionary<ScalarType, string> DTypeNames = new()
    {
        [ScalarType.Float32] = "F32", [ScalarType.Float16] = "F16", [ScalarType.BFloat16] = "BF16", [ScalarType.Float64] = "F64",
        [ScalarType.Int64] = "I64", [ScalarType.Int32] = "I32", [ScalarType.Int16] = "I16", [ScalarType.Int8] = "I8",
        [ScalarType.Byte] = "U8", [ScalarType.Bool] = "BOOL",
    };

    /// <summary>Writes <paramref name="tensors"/> (copied to the CPU) and <paramref name="metadata"/> atomically to <paramref name="path"/>.</summary>
    /// <exception cref="NotSupportedException">A tensor has a dtype safetensors cannot hold.</exception>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        using var scope = NewDisposeScope();
        var ordered = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (Name: kv.Key, Tensor: kv.Value.detach().cpu().contiguous()))
            .ToArray();
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 })
        {
            header[MetadataKey] = metadata;
        }

        long offset = 0;
        foreach (var (name, tensor) in ordered)
        {
            if (!DTypeNames.TryGetValue(tensor.dtype, out var dtype))
            {
                throw new NotSupportedException($"Tensor \"{name}\" has dtype {tensor.dtype}, which safetensors cannot store.");
            }

            long size = tensor.numel() * tensor.ElementSize;
            header[name] = new { dtype, shape = tensor.shape, data_offsets = new[] { offset, offset + size } };
            offset += size;
        }

        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padding = (8 - (json.Length % 8)) % 8;
        MixFit.IO.AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)(json.Length + padding));
            stream.Write(length);
            stream.Write(json);
            for (int i = 0; i < padding; i++)
            {
                stream.WriteByte((byte)' ');
            }

            foreach (var (_, tensor) in ordered)
            {
                stream.Write(tensor.bytes);
            }
        });
    }

    /// <summary>Reads every tensor (on the CPU, outside any dispose scope) and the metadata of <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">Not a safetensors file, truncated, or an unknown dtype; the message names the file.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8)
        {
            throw new InvalidDataException($"{path}: not a safetensors file (shorter than its 8-byte header length).");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8))
        {
            throw new InvalidDataException($"{path}: header length {headerLength} exceeds the file size {bytes.Length}; truncated or not safetensors.");
        }

        using var document = ParseHeader(path, bytes.AsSpan(8, (int)headerLength));
        int dataStart = 8 + (int)headerLength;
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{path}: the safetensors header is not a JSON object.");
            }

            // Every entry is checked against the file before anything is allocated: a header may claim any shape.
            var entries = new List<(string Name, ScalarType DType, long[] Shape, long Start, long Length)>();
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Name == MetadataKey)
                {
                    foreach (var m in entry.Value.EnumerateObject())
                    {
                        metadata[m.Name] = m.Value.GetString() ?? "";
                    }

                    continue;
                }

                entries.Add(CheckEntry(path, entry, bytes.LongLength - dataStart));
            }

            foreach (var (name, dtype, shape, start, length) in entries)
            {
                var tensor = empty(shape, dtype);
                bytes.AsSpan(dataStart + (int)start, (int)length).CopyTo(tensor.bytes);
                tensors[name] = tensor.DetachFromDisposeScope();
            }
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }

            throw new InvalidDataException($"{path}: malformed safetensors header ({e.Message}).", e);
        }
        catch
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }

            throw;
        }

        return (tensors, metadata);
    }

    /// <summary>An entry's dtype, shape and byte range, checked: a known dtype, non-negative dimensions, a byte count
    /// (computed without overflow) equal to its offsets, and offsets inside the data section.</summary>
    private static (string, ScalarType, long[], long, long) CheckEntry(string path, JsonProperty entry, long dataLength)
    {
        string dtypeName = entry.Value.GetProperty("dtype").GetString() ?? "";
        var dtype = DTypeNames.FirstOrDefault(kv => kv.Value == dtypeName);
        if (dtype.Value is null)
        {
            throw new InvalidDataException($"{path}: tensor \"{entry.Name}\" has unsupported dtype \"{dtypeName}\".");
        }

        long[] shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        long[] offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
        {
            throw new InvalidDataException($"{path}: tensor \"{entry.Name}\" has data offsets [{string.Join(",", offsets)}] outside the file's {dataLength} data bytes; truncated?");
        }

        if (shape.Any(d => d < 0))
        {
            throw new InvalidDataException($"{path}: tensor \"{entry.Name}\" has a negative dimension in shape [{string.Join(",", shape)}].");
        }

        long expected = ElementSize(dtype.Key);
        try
        {
            foreach (long d in shape)
            {
                expected = checked(expected * d);
            }
        }
        catch (OverflowException)
        {
            expected = long.MaxValue;
        }

        if (expected != offsets[1] - offsets[0])
        {
            throw new InvalidDataException($"{path}: tensor \"{entry.Name}\" of shape [{string.Join(",", shape)}] {dtypeName} needs {(expected == long.MaxValue ? "more than 2^63" : expected)} bytes, the header gives {offsets[1] - offsets[0]}.");
        }

        return (entry.Name, dtype.Key, shape, offsets[0], expected);
    }

    private static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    private static JsonDocument ParseHeader(string path, ReadOnlySpan<byte> header)
    {
        try
        {
            return JsonDocument.Parse(header.ToArray());
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the safetensors header is not valid JSON ({e.Message}).", e);
        }
    }
}
