using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Tests.Support;

/// <summary>Small tensor helpers for assertions.</summary>
public static class T
{
    public static float[] Values(Tensor t) => t.detach().to(ScalarType.Float32).cpu().data<float>().ToArray();

    public static Tensor Floats(params float[] values) => tensor(values);

    public static void Close(IReadOnlyList<float> expected, Tensor actual, double tolerance = 1e-6)
    {
        var values = Values(actual);
        Assert.Equal(expected.Count, values.Length);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - values[i]) <= tolerance, $"element {i}: expected {expected[i]}, got {values[i]}");
        }
    }
}
