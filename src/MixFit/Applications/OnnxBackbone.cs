using MixFit.Onnx;
using static TorchSharp.torch;

namespace MixFit.Applications;

/// <summary>
/// An imported ONNX CNN as the base of a <see cref="TransferModel"/>: the input preprocessing the model was trained
/// with (when known, e.g. <see cref="PretrainedModels.ResNet18ImageNet"/>), the graph (<see cref="OnnxGraph"/>, its
/// weights trainable or frozen), then global average pooling of 4-D outputs and flattening to [batch, features].
/// </summary>
/// <remarks>
/// State-dict names are <c>graph.&lt;ONNX node&gt;.weight</c> and so on (<c>base.graph...</c> inside a transfer model).
/// <see cref="Units"/> are the graph's layers with weights, so <c>UnfreezeTop(n)</c> unfreezes the last n of them.
/// </remarks>
public sealed class OnnxBackbone : FeatureExtractor
{
    private readonly OnnxGraph graph;
    private readonly ImagePreprocessing? preprocessing;

    private OnnxBackbone(OnnxGraph graph, ImagePreprocessing? preprocessing, long features, string name)
        : base(name)
    {
        this.graph = graph;
        this.preprocessing = preprocessing;
        Features = features;
        if (preprocessing is not null)
        {
            register_module("preprocess", preprocessing);
        }

        register_module("graph", graph);
    }

    /// <summary>The imported graph.</summary>
    public OnnxGraph Graph => graph;

    /// <summary>The preprocessing applied to [0, 1] RGB input before the graph, or null (the input goes in as it is).</summary>
    public ImagePreprocessing? Preprocessing => preprocessing;

    /// <inheritdoc />
    public override long Features { get; }

    /// <summary>The input channels the graph declares (e.g. 3), or null when not declared.</summary>
    public int? Channels => graph.InputShape.Count == 4 && graph.InputShape[1] is { } c ? (int)c : null;

    /// <summary>The input size in pixels the graph declares (e.g. 224), or null when it takes any size.</summary>
    public int? ImageSize => graph.InputShape.Count == 4 && graph.InputShape[2] is { } h ? (int)h : null;

    /// <summary>Reads an ONNX CNN as a feature extractor.</summary>
    /// <param name="path">The ONNX file.</param>
    /// <param name="preprocessing">What the model expects of its input, applied to [0, 1] RGB images; null: none.</param>
    /// <param name="output">The graph value to use as features; null: the graph's output.</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a (complete) ONNX model.</exception>
    /// <exception cref="NotSupportedException">A node MixFit cannot import (named, with the supported ops).</exception>
    public static OnnxBackbone Load(string path, ImagePreprocessing? preprocessing = null, string? output = null)
    {
        var graph = OnnxGraph.Load(path, output);
        long features = graph.OutputShape.Count >= 2 && graph.OutputShape[1] is { } declared ? declared : ProbeFeatures(graph, path);
        return new OnnxBackbone(graph, preprocessing, features, $"OnnxBackbone({Path.GetFileNameWithoutExtension(path)})");
    }

    /// <inheritdoc />
    public override IReadOnlyList<nn.Module> Units() => graph.named_children().Select(c => c.module).ToArray();

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var x = preprocessing is null ? input : preprocessing.call(input);
        var y = graph.call(x);
        if (y.dim() == 4)
        {
            y = y.shape[2] == 1 && y.shape[3] == 1 ? y.flatten(1) : y.mean(new long[] { 2, 3 });
        }

        return y.dim() == 2 ? y : y.reshape(y.shape[0], -1);
    }

    private static long ProbeFeatures(OnnxGraph graph, string path)
    {
        if (graph.InputShape.Skip(1).Any(d => d is null))
        {
            throw new NotSupportedException($"{Path.GetFileName(path)}: neither its output's feature count nor a fixed input size is declared; MixFit cannot size the head.");
        }

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        graph.eval();
        var probe = zeros(new long[] { 1 }.Concat(graph.InputShape.Skip(1).Select(d => d!.Value)).ToArray());
        var y = graph.call(probe);
        graph.train();
        return y.dim() >= 2 ? y.shape[1] : y.numel();
    }
}
