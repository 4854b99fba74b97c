using System.Buffers.Binary;
using System.Text;
using MixFit.Tracking.Export;
using MixFit.Tracking.Store;

namespace MixFit.Tracking.Tests.Export;

/// <summary>The event files are read back by a reader written here from the TFRecord and protobuf specifications.</summary>
public sealed class TensorBoardTests : IDisposable
{
    private readonly TempStore temp = new();

    public void Dispose() => temp.Dispose();

    /// <summary>Bit-by-bit CRC-32C (no table), independent of the library's table-driven one.</summary>
    private static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc >> 1) ^ (0x82F63B78u & (uint)-(int)(crc & 1));
            }
        }

        return ~crc;
    }

    private static uint Mask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8);

    private static List<byte[]> ReadRecords(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var records = new List<byte[]>();
        int offset = 0;
        while (offset < bytes.Length)
        {
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(offset));
            Assert.Equal(Mask(Crc32C(bytes.AsSpan(offset, 8))), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 8)));
            var data = bytes.AsSpan(offset + 12, (int)length).ToArray();
            Assert.Equal(Mask(Crc32C(data)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 12 + (int)length)));
            records.Add(data);
            offset += 16 + (int)length;
        }

        return records;
    }

    private static Dictionary<int, List<object>> Fields(byte[] message)
    {
        var fields = new Dictionary<int, List<object>>();
        int i = 0;
        ulong Varint()
        {
            ulong result = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte b = message[i++];
                result |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return result;
                }
            }
        }

        byte[] LengthDelimited()
        {
            int length = (int)Varint();
            var slice = message[i..(i + length)];
            i += length;
            return slice;
        }

        while (i < message.Length)
        {
            ulong key = Varint();
            int field = (int)(key >> 3);
            object value = (key & 7) switch
            {
                0 => Varint(),
                1 => BitConverter.ToDouble(message, (i += 8) - 8),
                5 => BitConverter.ToSingle(message, (i += 4) - 4),
                2 => LengthDelimited(),
                _ => throw new InvalidDataException($"wire type {key & 7}"),
            };
            if (!fields.TryGetValue(field, out var list))
            {
                fields[field] = list = new List<object>();
            }

            list.Add(value);
        }

        return fields;
    }

    [Fact]
    public void Epoch_scalars_land_in_train_and_validation_files_with_valid_framing()
    {
        var store = temp.Open();
        var run = store.StartRun("tb");
        run.Log("epoch", 0, new Dictionary<string, double> { ["loss"] = 0.75, ["val_loss"] = 0.5 });
        run.Log("epoch", 1, new Dictionary<string, double> { ["loss"] = 0.25, ["val_loss"] = 0.375 });
        run.Finish();

        var files = RunExporter.ToTensorBoard(store, run.Id, Path.Combine(temp.Root, "tb"));
        var scalars = new List<(string File, string Tag, float Value, ulong Step, double Time)>();
        foreach (var file in files)
        {
            var records = ReadRecords(file);
            var first = Fields(records[0]);
            Assert.Equal("brain.Event:2", Encoding.UTF8.GetString((byte[])first[3][0]));
            foreach (var record in records.Skip(1))
            {
                var e = Fields(record);
                var value = Fields((byte[])Fields((byte[])e[5][0])[1][0]);
                scalars.Add((Path.GetFileName(Path.GetDirectoryName(file)!), Encoding.UTF8.GetString((byte[])value[1][0]), (float)value[2][0], (ulong)e[2][0], (double)e[1][0]));
            }
        }

        Assert.Contains(("train", "epoch_loss", 0.75f, 0UL), scalars.Select(s => (s.File, s.Tag, s.Value, s.Step)));
        Assert.Contains(("train", "epoch_loss", 0.25f, 1UL), scalars.Select(s => (s.File, s.Tag, s.Value, s.Step)));
        Assert.Contains(("validation", "epoch_loss", 0.375f, 1UL), scalars.Select(s => (s.File, s.Tag, s.Value, s.Step)));
        // Wall times are the recorded ones to the millisecond, not truncated to whole seconds (deterministic: no
        // reliance on the clock having a fractional part).
        var recorded = store.Metrics(run.Id, "epoch").ToDictionary(p => (ulong)p.Step, p => p.Time);
        Assert.All(scalars, s => Assert.Equal(recorded[s.Step], s.Time, 1e-6));
    }

    [Fact]
    public void Csv_and_json_exports_hold_every_record()
    {
        var store = temp.Open();
        var run = store.StartRun("files");
        run.Log("step", 0, new Dictionary<string, double> { ["loss"] = 1.5 });
        run.Log("epoch", 0, new Dictionary<string, double> { ["loss"] = 1.25, ["val_loss"] = 1.75 });
        run.Finish();
        string csv = Path.Combine(temp.Root, "r.csv");
        RunExporter.ToCsv(store, run.Id, csv);
        var lines = File.ReadAllLines(csv);
        Assert.Equal("kind,step,time,loss,val_loss", lines[0]);
        Assert.StartsWith("step,0,", lines[1]);
        Assert.EndsWith(",1.5,", lines[1]);
        Assert.EndsWith(",1.25,1.75", lines[2]);
        string json = Path.Combine(temp.Root, "r.json");
        RunExporter.ToJson(store, run.Id, json);
        string text = File.ReadAllText(json);
        Assert.Contains("\"val_loss\": 1.75", text);
        foreach (var key in new[] { "\"id\":", "\"started_at\":", "\"ended_at\":", "\"steps\":", "\"epochs\":", "\"values\":" })
        {
            Assert.Contains(key, text);                              // snake_case, as the run's own files
        }

        Assert.DoesNotContain("\"StartedAt\"", text);
    }
}
