using Google.Protobuf;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Onnx;

/// <summary>
/// An ONNX CNN graph as a trainable TorchSharp module: every node runs as TorchSharp ops, in the file's order;
/// Conv and Gemm/MatMul weights become parameters of <c>Conv2d</c>/<c>Linear</c> layers and BatchNormalization
/// statistics the buffers of <c>BatchNorm2d</c> layers, each layer named after its ONNX node (so
/// <c>Convolution249.weight</c> is node <c>Convolution249</c>'s weight; <see cref="SourceNames"/> gives the
/// initializer each came from). The layers are the standard TorchSharp types, so precision policies treat them as
/// they treat any model (BatchNorm stays float32 under mixed policies) and freezing puts BatchNorm in inference mode.
/// </summary>
/// <remarks>
/// <para>Supported ops (<see cref="SupportedOps"/>): what ResNet, MobileNet and VGG exports use. Domain
/// <c>ai.onnx</c> only. Graphs with one input; the first output (or the one named) is returned.</para>
/// <para>Asymmetric padding (CNTK and TensorFlow exports pad 3/2 around a 7x7 stride-2 convolution) is applied as an
/// explicit pad before the layer, so results match ONNX Runtime.</para>
/// </remarks>
/// <example><code>
/// using var graph = OnnxGraph.Load("resnet18.onnx");
/// var features = graph.call(images);   // [N, 3, 224, 224] -> the graph's output
/// </code></example>
public sealed class OnnxGraph : nn.Module<Tensor, Tensor>
{
    private readonly List<OnnxStep> steps;
    private readonly Dictionary<string, string> sourceNames;
    private readonly HashSet<string> constantBuffers;
    private readonly Dictionary<int, string> layerOfNode;
    private readonly Dictionary<string, int> lastUse = new(StringComparer.Ordinal);

    private OnnxGraph(string file, string input, IReadOnlyList<long?> inputShape, string output, IReadOnlyList<long?> outputShape, List<OnnxStep> steps, Dictionary<string, string> sourceNames, HashSet<string> constantBuffers, Dictionary<int, string> layerOfNode)
        : base("OnnxGraph")
    {
        this.layerOfNode = layerOfNode;
        for (int index = 0; index < steps.Count; index++)
        {
            foreach (var name in steps[index].Inputs.Where(n => n.Length > 0))
            {
                lastUse[name] = index;
            }
        }

        File = file;
        InputName = input;
        InputShape = inputShape;
        OutputName = output;
        OutputShape = outputShape;
        this.steps = steps;
        this.sourceNames = sourceNames;
        this.constantBuffers = constantBuffers;
    }

    /// <summary>The ops MixFit imports.</summary>
    public static IReadOnlyList<string> SupportedOps => OnnxOps.Supported;

    /// <summary>The file the graph was read from.</summary>
    public string File { get; }

    /// <summary>The graph's input name.</summary>
    public string InputName { get; }

    /// <summary>The input's declared dims (null where free); the first (batch) dim is never enforced.</summary>
    public IReadOnlyList<long?> InputShape { get; }

    /// <summary>The value the module returns.</summary>
    public string OutputName { get; }

    /// <summary>The output's declared dims (null where free or unknown).</summary>
    public IReadOnlyList<long?> OutputShape { get; }

    /// <summary>The ONNX initializer behind each parameter and buffer, by state-dict name.</summary>
    public IReadOnlyDictionary<string, string> SourceNames => sourceNames;

    /// <summary>The layer (module name) each node with weights became, by node index in the file.</summary>
    internal IReadOnlyDictionary<int, string> LayerOfNode => layerOfNode;

    /// <summary>The op types of the graph's nodes, in order.</summary>
    public IReadOnlyList<string> Ops => steps.Select(s => s.Op).ToArray();

    /// <summary>
    /// Reads <paramref name="path"/> and builds the module (float32, on the CPU, in training mode like any new module).
    /// </summary>
    /// <param name="path">An ONNX model file (weights inside the file).</param>
    /// <param name="output">The graph value to return; null: the graph's first output.</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not an ONNX model, truncated, damaged, or with external weights; the message names the file.</exception>
    /// <exception cref="NotSupportedException">A node whose op (or form of it) MixFit cannot import; the message names the node, the op and the supported ops.</exception>
    public static OnnxGraph Load(string path, string? output = null)
    {
        var model = Read(path);
        var graph = model.Graph;
        string file = Path.GetFileName(path);
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializers.ContainsKey(i.Name)).ToList();
        if (inputs.Count != 1)
        {
            throw new NotSupportedException($"{file}: the graph has {inputs.Count} inputs ({string.Join(", ", inputs.Select(i => i.Name))}); MixFit imports graphs with one input.");
        }

        string outputName = output ?? graph.Output.FirstOrDefault()?.Name
            ?? throw new InvalidDataException($"{file}: the graph declares no output.");
        long opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(1).Max();
        var builder = new OnnxOps(file, opset, initializers);
        var steps = new List<OnnxStep>();
        var produced = new HashSet<string>(StringComparer.Ordinal) { inputs[0].Name };
        for (int index = 0; index < graph.Node.Count; index++)
        {
            var node = graph.Node[index];
            if (node.Domain is not ("" or "ai.onnx"))
            {
                throw new NotSupportedException($"{file}: node \"{node.Name}\" ({node.OpType}) is in domain \"{node.Domain}\"; MixFit imports the standard ai.onnx ops only: {string.Join(", ", SupportedOps)}.");
            }

            foreach (var input in node.Input.Where(i => i.Length > 0 && !produced.Contains(i) && !initializers.ContainsKey(i)))
            {
                throw new InvalidDataException($"{file}: node \"{node.Name}\" ({node.OpType}) reads \"{input}\", which no earlier node produces (the nodes are not in topological order, or the file is damaged).");
            }

            steps.Add(builder.Build(node, index));
            produced.UnionWith(node.Output);
        }

        if (!produced.Contains(outputName))
        {
            throw new InvalidDataException($"{file}: no node produces \"{outputName}\" (outputs: {string.Join(", ", graph.Output.Select(o => o.Name))}).");
        }

        var module = new OnnxGraph(path, inputs[0].Name, Dims(inputs[0]), outputName, Dims(graph.Output.FirstOrDefault(o => o.Name == outputName)), steps, builder.SourceNames, builder.ConstantBuffers, builder.LayerOfNode);
        foreach (var (name, layer) in builder.Layers)
        {
            module.register_module(name, layer);
        }

        foreach (var (name, value) in builder.Constants)
        {
            module.register_buffer(name, value);
        }

        return module;
    }

    /// <summary>Runs the graph on <paramref name="input"/> (batch first).</summary>
    /// <exception cref="ArgumentException">The input's shape is not one the graph declares; the message gives the expected dims.</exception>
    public override Tensor forward(Tensor input)
    {
        CheckInput(input);
        var constants = named_buffers(recurse: false).Where(b => constantBuffers.Contains(b.name)).ToDictionary(b => b.name, b => b.buffer, StringComparer.Ordinal);
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [InputName] = input };
        for (int index = 0; index < steps.Count; index++)
        {
            var step = steps[index];
            var arguments = step.Inputs.Select(name => name.Length == 0 ? null : values.TryGetValue(name, out var v) ? v : constants.GetValueOrDefault(OnnxOps.ConstantName(name))).ToArray();
            var results = step.Run(arguments, training);
            for (int i = 0; i < step.Outputs.Count && i < results.Length; i++)
            {
                values[step.Outputs[i]] = results[i];
            }

            // Like Sequential: an intermediate no later node reads is released now, not at the end of the forward
            // (autograd keeps what the backward pass needs), so peak memory is that of a chain, not of every activation.
            foreach (var name in step.Inputs.Where(n => lastUse.TryGetValue(n, out int last) && last == index && n != InputName && n != OutputName))
            {
                if (values.Remove(name, out var released) && !results.Any(r => ReferenceEquals(r, released)))
                {
                    released.Dispose();
                }
            }

            if (values.TryGetValue(OutputName, out var done) && step.Outputs.Contains(OutputName))
            {
                return done;
            }
        }

        return values[OutputName];
    }

    private void CheckInput(Tensor input)
    {
        bool fits = input.dim() == InputShape.Count && InputShape.Skip(1).Select((d, i) => d is null || d == input.shape[i + 1]).All(ok => ok);
        if (!fits)
        {
            string expected = "[N" + string.Concat(InputShape.Skip(1).Select(d => "," + (d?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"))) + "]";
            string hint = InputShape.Count == 4 && input.dim() == 4 && InputShape[1] is { } c && c != input.shape[1]
                ? $": the graph takes {c}-channel images"
                : InputShape.Count == 4 && InputShape[2] is { } h && InputShape[3] is { } w ? $": resize the images to {h}x{w} (--image-size {h})" : "";
            throw new ArgumentException($"{Path.GetFileName(File)} expects input {expected} (graph input \"{InputName}\"), got [{string.Join(",", input.shape)}]{hint}.", nameof(input));
        }
    }

    /// <summary>The file's model again (for export: the graph's structure, with the module's current weights).</summary>
    internal ModelProto ReadSource() => Read(File);

    /// <summary>Parses an ONNX file, with errors that name it (missing, truncated, not ONNX, no graph).</summary>
    internal static ModelProto Read(string path)
    {
        if (!System.IO.File.Exists(path))
        {
            throw new FileNotFoundException($"ONNX model not found: {path}", path);
        }

        ModelProto model;
        try
        {
            using var stream = System.IO.File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{path} is not an ONNX model, or is truncated ({e.Message}).", e);
        }

        if (model.Graph is null || model.Graph.Node.Count == 0)
        {
            throw new InvalidDataException($"{path} is not an ONNX model (it holds no graph with nodes).");
        }

        return model;
    }

    private static IReadOnlyList<long?> Dims(ValueInfoProto? value) =>
        value?.Type?.TensorType?.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 ? d.DimValue : (long?)null).ToArray()
        ?? Array.Empty<long?>();
}
