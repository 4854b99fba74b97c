using static TorchSharp.torch;

namespace MixFit.Onnx;

/// <summary>One node of an imported graph: the values it reads (graph values or constants) and what it computes.</summary>
/// <param name="Op">The ONNX op type.</param>
/// <param name="Node">The node's name in the file.</param>
/// <param name="Inputs">The values read at run time ("" for an omitted optional input).</param>
/// <param name="Outputs">The values produced.</param>
/// <param name="Run">Computes the outputs from the inputs (null for omitted ones) and whether the module trains.</param>
internal sealed record OnnxStep(string Op, string Node, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs, Func<Tensor?[], bool, Tensor[]> Run);
