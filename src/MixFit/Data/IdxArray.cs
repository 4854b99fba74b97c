namespace MixFit.Data;

/// <summary>An unsigned-byte array read from an IDX file (the MNIST format): its dimensions and its bytes, row-major.</summary>
public sealed class IdxArray
{
    /// <summary>Creates an array; <paramref name="data"/> length must equal the product of <paramref name="shape"/>.</summary>
    public IdxArray(int[] shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        long expected = shape.Aggregate(1L, (a, d) => a * d);
        if (expected != data.LongLength)
        {
            throw new ArgumentException($"Shape [{string.Join(",", shape)}] needs {expected} bytes, got {data.LongLength}.", nameof(data));
        }

        Shape = shape;
        Data = data;
    }

    /// <summary>The dimensions, outermost first (e.g. [count, rows, columns]).</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The values, row-major.</summary>
    public byte[] Data { get; }

    /// <summary>The size of the first dimension (number of items).</summary>
    public int Count => Shape[0];
}
