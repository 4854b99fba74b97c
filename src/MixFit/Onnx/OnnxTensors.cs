using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace MixFit.Onnx;

/// <summary>ONNX <c>TensorProto</c> to and from TorchSharp tensors (float32/64/16, bfloat16, int64/32/8, uint8, bool).</summary>
internal static class OnnxTensors
{
    /// <summary>The tensor's values as a CPU tensor of its ONNX type.</summary>
    /// <exception cref="InvalidDataException">External data, an unsupported type, or a size that does not match the dims.</exception>
    public static Tensor ToTensor(TensorProto proto, string file)
    {
        if (proto.DataLocation == TensorProto.Types.DataLocation.External || proto.ExternalData.Count > 0)
        {
            throw new InvalidDataException($"{file}: initializer \"{proto.Name}\" keeps its data in an external file, which MixFit does not read; save the model with its weights inside.");
        }

        long[] dims = proto.Dims.ToArray();
        long count = dims.Aggregate(1L, (a, b) => a * b);
        var type = (TensorProto.Types.DataType)proto.DataType;
        byte[] raw = proto.RawData.ToByteArray();
        Tensor flat = type switch
        {
            TensorProto.Types.DataType.Float => raw.Length > 0 ? FromRaw<float>(raw, ScalarType.Float32) : tensor(proto.FloatData.ToArray()),
            TensorProto.Types.DataType.Double => raw.Length > 0 ? FromRaw<double>(raw, ScalarType.Float64) : tensor(proto.DoubleData.ToArray()),
            TensorProto.Types.DataType.Int64 => raw.Length > 0 ? FromRaw<long>(raw, ScalarType.Int64) : tensor(proto.Int64Data.ToArray()),
            TensorProto.Types.DataType.Int32 => raw.Length > 0 ? FromRaw<int>(raw, ScalarType.Int32) : tensor(proto.Int32Data.ToArray()),
            TensorProto.Types.DataType.Float16 => tensor(HalfBits(raw, proto).Select(b => (float)BitConverter.UInt16BitsToHalf(b)).ToArray()).to(ScalarType.Float16),
            TensorProto.Types.DataType.Bfloat16 => tensor(HalfBits(raw, proto).Select(b => BitConverter.Int32BitsToSingle(b << 16)).ToArray()).to(ScalarType.BFloat16),
            TensorProto.Types.DataType.Int8 => raw.Length > 0 ? FromRaw<sbyte>(raw, ScalarType.Int8) : tensor(proto.Int32Data.Select(v => (sbyte)v).ToArray()),
            TensorProto.Types.DataType.Uint8 => raw.Length > 0 ? FromRaw<byte>(raw, ScalarType.Byte) : tensor(proto.Int32Data.Select(v => (byte)v).ToArray()),
            TensorProto.Types.DataType.Bool => raw.Length > 0 ? FromRaw<byte>(raw, ScalarType.Byte).to(ScalarType.Bool) : tensor(proto.Int32Data.Select(v => v != 0).ToArray()),
            _ => throw new InvalidDataException($"{file}: initializer \"{proto.Name}\" has ONNX data type {type}, which MixFit does not read (float, double, float16, bfloat16, int64, int32, int8, uint8 and bool are read)."),
        };

        if (flat.numel() != count)
        {
            throw new InvalidDataException($"{file}: initializer \"{proto.Name}\" has {flat.numel()} values for dims [{string.Join(",", dims)}] ({count} expected); the file is damaged.");
        }

        return flat.reshape(dims);
    }

    /// <summary>A float32 TensorProto named <paramref name="name"/> holding <paramref name="value"/> (any float dtype, any device), little-endian raw data.</summary>
    public static TensorProto FromTensor(string name, Tensor value)
    {
        using var cpu = value.detach().to(ScalarType.Float32).cpu().contiguous();
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(cpu.shape);
        var values = cpu.data<float>().ToArray();
        var bytes = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw data is little-endian; this machine is big-endian.");
        }

        proto.RawData = ByteString.CopyFrom(bytes);
        return proto;
    }

    /// <summary>An int64 TensorProto (shapes, axes) named <paramref name="name"/>.</summary>
    public static TensorProto FromLongs(string name, params long[] values)
    {
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        return proto;
    }

    /// <summary>16-bit values (float16 or bfloat16 bit patterns): little-endian raw data, or the low halves of int32_data.</summary>
    private static ushort[] HalfBits(byte[] raw, TensorProto proto)
    {
        if (raw.Length == 0)
        {
            return proto.Int32Data.Select(v => (ushort)v).ToArray();
        }

        var bits = new ushort[raw.Length / 2];
        Buffer.BlockCopy(raw, 0, bits, 0, bits.Length * 2);
        return bits;
    }

    private static Tensor FromRaw<T>(byte[] raw, ScalarType type)
        where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw data is little-endian; this machine is big-endian.");
        }

        int size = System.Runtime.InteropServices.Marshal.SizeOf<T>();
        var values = new T[raw.Length / size];
        Buffer.BlockCopy(raw, 0, values, 0, values.Length * size);
        return type switch
        {
            ScalarType.Float32 => tensor((float[])(object)values),
            ScalarType.Float64 => tensor((double[])(object)values),
            ScalarType.Int64 => tensor((long[])(object)values),
            ScalarType.Int32 => tensor((int[])(object)values),
            ScalarType.Int16 => tensor((short[])(object)values),
            ScalarType.Int8 => tensor((sbyte[])(object)values),
            ScalarType.Byte => tensor((byte[])(object)values),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported raw type"),
        };
    }
}
