using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>One measured throughput: an operation in a dtype, in GFLOP/s.</summary>
/// <param name="Operation"><c>matmul</c> or <c>conv2d</c>.</param>
/// <param name="DType">The dtype it ran in.</param>
/// <param name="GigaflopsPerSecond">Billions of floating-point operations per second.</param>
public sealed record ThroughputResult(string Operation, ScalarType DType, double GigaflopsPerSecond);
