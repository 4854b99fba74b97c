using System.Buffers.Binary;
using System.Text;

namespace MixFit.Tracking.Export;

/// <summary>
/// Writes TensorBoard event files (TFRecord framing with masked CRC-32C, <c>Event</c>/<c>Summary</c> protocol buffers
/// encoded by hand) with scalar values and sub-second wall times, without libtorch.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    private readonly FileStream stream;

    /// <summary>Creates <c>events.out.tfevents.&lt;time&gt;.&lt;host&gt;</c> in <paramref name="directory"/> and writes the version record.</summary>
    public TensorBoardWriter(string directory)
    {
        Directory.CreateDirectory(directory);
        double now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        Path = global::System.IO.Path.Combine(directory, $"events.out.tfevents.{(long)now}.{Environment.MachineName}");
        stream = new FileStream(Path, FileMode.Create, FileAccess.Write);
        var versionEvent = new List<byte>();
        WriteDouble(versionEvent, 1, now);
        WriteBytes(versionEvent, 3, Encoding.UTF8.GetBytes("brain.Event:2"));
        WriteRecord(versionEvent.ToArray());
    }

    /// <summary>The event file.</summary>
    public string Path { get; }

    /// <summary>Adds a scalar <paramref name="tag"/> = <paramref name="value"/> at <paramref name="step"/> and wall time <paramref name="wallTime"/> (Unix seconds).</summary>
    public void AddScalar(string tag, double value, long step, double wallTime)
    {
        var summaryValue = new List<byte>();
        WriteBytes(summaryValue, 1, Encoding.UTF8.GetBytes(tag));
        WriteFloat(summaryValue, 2, (float)value);
        var summary = new List<byte>();
        WriteBytes(summary, 1, summaryValue.ToArray());
        var @event = new List<byte>();
        WriteDouble(@event, 1, wallTime);
        WriteVarintField(@event, 2, (ulong)step);
        WriteBytes(@event, 5, summary.ToArray());
        WriteRecord(@event.ToArray());
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        stream.Flush();
        stream.Dispose();
    }

    private void WriteRecord(byte[] data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        stream.Write(header);
        stream.Write(data);
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        stream.Write(footer);
    }

    private static void WriteVarint(List<byte> buffer, ulong value)
    {
        while (value >= 0x80)
        {
            buffer.Add((byte)(value | 0x80));
            value >>= 7;
        }

        buffer.Add((byte)value);
    }

    private static void WriteVarintField(List<byte> buffer, int field, ulong value)
    {
        WriteVarint(buffer, (ulong)(field << 3));
        WriteVarint(buffer, value);
    }

    private static void WriteDouble(List<byte> buffer, int field, double value)
    {
        WriteVarint(buffer, (ulong)((field << 3) | 1));
        buffer.AddRange(BitConverter.GetBytes(value));
    }

    private static void WriteFloat(List<byte> buffer, int field, float value)
    {
        WriteVarint(buffer, (ulong)((field << 3) | 5));
        buffer.AddRange(BitConverter.GetBytes(value));
    }

    private static void WriteBytes(List<byte> buffer, int field, byte[] value)
    {
        WriteVarint(buffer, (ulong)((field << 3) | 2));
        WriteVarint(buffer, (ulong)value.Length);
        buffer.AddRange(value);
    }
}
