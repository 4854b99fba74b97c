using Google.Protobuf;
using MixFit.Applications;
using MixFit.Training;
using Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Onnx;

/// <summary>
/// Writes a MixFit model as an ONNX file with float32 weights, for ONNX Runtime, ML.NET or any ONNX tool: train in
/// .NET with mixed precision, deploy anywhere. The graph is written from the module structure (no tracing):
/// <c>Sequential</c> models (the small CNN), TorchVision ResNets (<see cref="Backbone"/>), imported ONNX graphs
/// (<see cref="OnnxBackbone"/>, re-emitted with their current weights) and <see cref="TransferModel"/> heads.
/// </summary>
/// <remarks>
/// <para>Layers written: Conv2d, BatchNorm2d (inference form), ReLU, ReLU6, Sigmoid, Tanh, SiLU, Hardswish,
/// MaxPool2d, AdaptiveAvg/MaxPool2d to 1x1, Flatten, Linear, Dropout/Identity (dropped), ResNet BasicBlock and
/// Bottleneck. Anything else is a <see cref="NotSupportedException"/> naming the module path and type.</para>
/// <para>Opset 14, batch dimension symbolic (<c>N</c>). Initializers carry the state-dict names, so a weight in the
/// file is traceable to the MixFit parameter it came from.</para>
/// </remarks>
public static class OnnxExporter
{
    /// <summary>The opset the files declare.</summary>
    public const int Opset = 14;

    /// <summary>
    /// Exports a trainer's model with its float32 weights (the float32 masters under mixed policies, not the
    /// half-precision working copies).
    /// </summary>
    /// <param name="trainer">A compiled trainer.</param>
    /// <param name="path">The .onnx file to write (atomically).</param>
    /// <param name="inputShape">One sample's shape, e.g. <c>1, 28, 28</c> or <c>3, 224, 224</c>.</param>
    public static void Export(Trainer trainer, string path, params long[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        Export(trainer.Module, path, inputShape, trainer.GetWeights());
    }

    /// <summary>Exports <paramref name="model"/> (eval-mode semantics: BatchNorm uses its running statistics, dropout is off).</summary>
    /// <param name="model">The model.</param>
    /// <param name="path">The .onnx file to write (atomically).</param>
    /// <param name="inputShape">One sample's shape, e.g. <c>1, 28, 28</c>.</param>
    /// <param name="weights">Weights by state-dict name to write instead of the module's own (e.g. float32 masters); null: the module's, as float32.</param>
    /// <exception cref="NotSupportedException">A module MixFit cannot write (named with its path and type).</exception>
    public static void Export(nn.Module<Tensor, Tensor> model, string path, long[] inputShape, IReadOnlyDictionary<string, Tensor>? weights = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        var writer = new Writer(model, weights);
        string output = writer.Walk(model, "", "input");
        var graph = writer.Graph;
        graph.Name = model.GetName();
        graph.Input.Add(Value("input", inputShape));
        graph.Node.Add(Node("Identity", new[] { output }, "output"));
        graph.Output.Add(Value("output", Array.Empty<long>(), rankOnly: true));
        var file = new ModelProto { IrVersion = 8, ProducerName = "MixFit", ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "", Graph = graph };
        file.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        MixFit.IO.AtomicFile.Write(path, stream => file.WriteTo(stream));
    }

    private static NodeProto Node(string op, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = op + "_" + output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static ValueInfoProto Value(string name, long[] sample, bool rankOnly = false)
    {
        var type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } };
        if (!rankOnly)
        {
            var shape = new TensorShapeProto();
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
            shape.Dim.AddRange(sample.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }));
            type.TensorType.Shape = shape;
        }

        return new ValueInfoProto { Name = name, Type = type };
    }

    private static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>Emits nodes and initializers while walking the module tree.</summary>
    private sealed class Writer
    {
        private readonly IReadOnlyDictionary<string, Tensor>? weights;
        private readonly Dictionary<string, Tensor> own;
        private readonly HashSet<string> written = new(StringComparer.Ordinal);
        private int values;

        public Writer(nn.Module model, IReadOnlyDictionary<string, Tensor>? weights)
        {
            this.weights = weights;
            own = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        }

        public GraphProto Graph { get; } = new();

        public string Walk(nn.Module module, string path, string x)
        {
            string Child(string name) => path.Length == 0 ? name : $"{path}.{name}";
            var children = module.named_children().ToList();
            nn.Module Get(string name) => children.First(c => c.name == name).module;
            switch (module)
            {
                case Sequential or Backbone:
                    foreach (var (name, child) in children)
                    {
                        x = Walk(child, Child(name), x);
                    }

                    return x;
                case TransferModel transfer:
                    {
                        var features = Walk(transfer.Base, Child("base"), x);
                        var logits = Walk(transfer.Head, Child("head"), features);
                        return transfer.Softmax ? Emit("Softmax", new[] { logits }, Int("axis", 1)) : logits;
                    }

                case OnnxBackbone onnx:
                    {
                        if (onnx.Preprocessing is { } preprocessing)
                        {
                            x = Preprocess(preprocessing, Child("preprocess"), x);
                        }

                        x = Imported(onnx.Graph, Child("graph"), x);
                        if (onnx.Graph.OutputShape.Count != 2)
                        {
                            x = Emit("GlobalAveragePool", new[] { x });
                            x = Emit("Flatten", new[] { x }, Int("axis", 1));
                        }

                        return x;
                    }

                case Conv2d conv:
                    {
                        if (conv.padding_type is not null || conv.padding_mode != TorchSharp.PaddingModes.Zeros)
                        {
                            throw Unsupported(module, path, "a Conv2d with string padding or a non-zero padding mode");
                        }

                        var inputs = new List<string> { x, Weight(Child("weight")) };
                        if (conv.bias is not null)
                        {
                            inputs.Add(Weight(Child("bias")));
                        }

                        var pads = conv.padding ?? new long[] { 0, 0 };
                        return Emit("Conv", inputs.ToArray(), Ints("kernel_shape", conv.kernel_size), Ints("strides", conv.stride),
                            Ints("pads", pads.Concat(pads)), Ints("dilations", conv.dilation), Int("group", conv.groups));
                    }

                case BatchNorm2d norm:
                    {
                        string scale = norm.weight is null ? Constant(Child("weight"), ones(norm.num_features)) : Weight(Child("weight"));
                        string shift = norm.bias is null ? Constant(Child("bias"), zeros(norm.num_features)) : Weight(Child("bias"));
                        return Emit("BatchNormalization", new[] { x, scale, shift, Weight(Child("running_mean")), Weight(Child("running_var")) },
                            Float("epsilon", (float)norm.eps), Float("momentum", (float)(1 - (norm.momentum ?? 0.1))));
                    }

                case Linear linear:
                    {
                        var inputs = new List<string> { x, Weight(Child("weight")) };
                        if (linear.bias is not null)
                        {
                            inputs.Add(Weight(Child("bias")));
                        }

                        return Emit("Gemm", inputs.ToArray(), Int("transB", 1));
                    }

                case MaxPool2d pool:
                    {
                        var padding = pool.padding ?? new long[] { 0, 0 };
                        return Emit("MaxPool", new[] { x }, Ints("kernel_shape", pool.kernel_size), Ints("strides", pool.stride ?? pool.kernel_size),
                            Ints("pads", padding.Concat(padding)), Ints("dilations", pool.dilation ?? new long[] { 1, 1 }), Int("ceil_mode", pool.ceil_mode ? 1 : 0));
                    }

                case AdaptiveAvgPool2d average when average.output_size.All(s => s == 1):
                    return Emit("GlobalAveragePool", new[] { x });
                case AdaptiveMaxPool2d max when max.output_size.All(s => s == 1):
                    return Emit("GlobalMaxPool", new[] { x });
                case Flatten flatten when flatten.start_dim == 1 && flatten.end_dim == -1:
                    return Emit("Flatten", new[] { x }, Int("axis", 1));
                case ReLU:
                    return Emit("Relu", new[] { x });
                case ReLU6:
                    return Emit("Clip", new[] { x, Constant(Child("min"), tensor(0f)), Constant(Child("max"), tensor(6f)) });
                case Sigmoid:
                    return Emit("Sigmoid", new[] { x });
                case Tanh:
                    return Emit("Tanh", new[] { x });
                case SiLU:
                    return Emit("Mul", new[] { x, Emit("Sigmoid", new[] { x }) });
                case Hardswish:
                    return Emit("HardSwish", new[] { x });
                case Dropout or Identity:
                    return x;
            }

            switch (module.GetType().Name)
            {
                case "BasicBlock":
                    {
                        var y = Walk(Get("conv1"), Child("conv1"), x);
                        y = Emit("Relu", new[] { Walk(Get("bn1"), Child("bn1"), y) });
                        y = Walk(Get("bn2"), Child("bn2"), Walk(Get("conv2"), Child("conv2"), y));
                        string identity = children.Any(c => c.name == "downsample") ? Walk(Get("downsample"), Child("downsample"), x) : x;
                        return Emit("Relu", new[] { Emit("Add", new[] { y, identity }) });
                    }

                case "Bottleneck":
                    {
                        var y = Emit("Relu", new[] { Walk(Get("bn1"), Child("bn1"), Walk(Get("conv1"), Child("conv1"), x)) });
                        y = Emit("Relu", new[] { Walk(Get("bn2"), Child("bn2"), Walk(Get("conv2"), Child("conv2"), y)) });
                        y = Walk(Get("bn3"), Child("bn3"), Walk(Get("conv3"), Child("conv3"), y));
                        string identity = children.Any(c => c.name == "downsample") ? Walk(Get("downsample"), Child("downsample"), x) : x;
                        return Emit("Relu", new[] { Emit("Add", new[] { y, identity }) });
                    }
            }

            throw Unsupported(module, path, null);
        }

        /// <summary>(x * scale), channels reordered with Gather, minus the mean, divided by the std.</summary>
        private string Preprocess(ImagePreprocessing preprocessing, string path, string x)
        {
            var scaled = Emit("Mul", new[] { x, Constant(path + ".scale", tensor((float)preprocessing.Scale)) });
            var order = OnnxTensors.FromLongs(path + ".order", preprocessing.ChannelOrder.ToArray());
            Graph.Initializer.Add(order);
            var reordered = Emit("Gather", new[] { scaled, order.Name }, Int("axis", 1));
            var centred = Emit("Sub", new[] { reordered, Weight(path + ".mean") });
            return Emit("Div", new[] { centred, Weight(path + ".std") });
        }

        /// <summary>The imported graph's own nodes again, with the module's current weights in place of the file's.</summary>
        private string Imported(OnnxGraph graph, string path, string x)
        {
            var source = graph.ReadSource();
            var initializers = source.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
            var renamed = new Dictionary<string, string>(StringComparer.Ordinal) { [graph.InputName] = x };
            string Name(string value)
            {
                if (value.Length == 0)
                {
                    return value;
                }

                if (renamed.TryGetValue(value, out var known))
                {
                    return known;
                }

                string fresh = $"{path}.{value}";
                renamed[value] = fresh;
                return fresh;
            }

            var bySource = graph.SourceNames.ToDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);
            for (int index = 0; index < source.Graph.Node.Count; index++)
            {
                var node = source.Graph.Node[index].Clone();
                if (graph.LayerOfNode.TryGetValue(index, out var layer) && node.OpType is "Gemm" or "MatMul")
                {
                    // A dense layer: written from the Linear (weights already transposed and scaled at import).
                    var inputs = new List<string> { Name(node.Input[0]), Weight($"{path}.{layer}.weight") };
                    if (own.ContainsKey($"{path}.{layer}.bias"))
                    {
                        inputs.Add(Weight($"{path}.{layer}.bias"));
                    }

                    Graph.Node.Add(Node("Gemm", inputs.ToArray(), Name(node.Output[0]), Int("transB", 1)));
                    continue;
                }

                for (int i = 0; i < node.Input.Count; i++)
                {
                    string input = node.Input[i];
                    if (input.Length > 0 && initializers.TryGetValue(input, out var stored))
                    {
                        // A weight the module holds (current values), or a constant of the file (copied once).
                        node.Input[i] = bySource.TryGetValue(input, out var parameter) && !parameter.StartsWith("const_", StringComparison.Ordinal)
                            ? Weight($"{path}.{parameter}")
                            : CopyInitializer(path, stored);
                    }
                    else
                    {
                        node.Input[i] = Name(input);
                    }
                }

                for (int i = 0; i < node.Output.Count; i++)
                {
                    node.Output[i] = Name(node.Output[i]);
                }

                node.Name = $"{path}.{(node.Name.Length > 0 ? node.Name : node.OpType + "_" + index)}";
                Graph.Node.Add(Upgrade(node, SourceOpset(source), path));
                if (node.Output.Contains(Name(graph.OutputName)))
                {
                    break;
                }
            }

            return Name(graph.OutputName);
        }

        private static long SourceOpset(ModelProto source) =>
            source.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(1).Max();

        /// <summary>
        /// A node of an older opset in the form opset <see cref="Opset"/> expects: attributes that became inputs (Clip,
        /// Pad, Split, Squeeze, Unsqueeze) move, legacy attributes (spatial, broadcast, consumed_inputs) go, Dropout
        /// becomes Identity (the export is for inference).
        /// </summary>
        private NodeProto Upgrade(NodeProto node, long opset, string path)
        {
            if (opset >= Opset)
            {
                return node;
            }

            string[] legacy = { "spatial", "consumed_inputs", "is_test", "broadcast" };
            if (node.OpType is "Add" or "Sub" or "Mul" or "Div")
            {
                legacy = legacy.Append("axis").ToArray();
            }

            foreach (var attribute in node.Attribute.Where(a => legacy.Contains(a.Name)).ToList())
            {
                node.Attribute.Remove(attribute);
            }

            AttributeProto? Take(string name)
            {
                var found = node.Attribute.FirstOrDefault(a => a.Name == name);
                if (found is not null)
                {
                    node.Attribute.Remove(found);
                }

                return found;
            }

            string Longs(string name, IEnumerable<long> values)
            {
                var proto = OnnxTensors.FromLongs($"{path}.{node.Name}.{name}", values.ToArray());
                proto.Name = $"{node.Name}.{name}";
                Graph.Initializer.Add(proto);
                return proto.Name;
            }

            string Scalar(string name, float value) => Constant($"{node.Name}.{name}", tensor(value));

            switch (node.OpType)
            {
                case "Dropout":
                    var identity = new NodeProto { OpType = "Identity", Name = node.Name };
                    identity.Input.Add(node.Input[0]);
                    identity.Output.Add(node.Output[0]);
                    return identity;
                case "Clip" when opset < 11:
                    {
                        var min = Take("min");
                        var max = Take("max");
                        node.Input.Add(min is null ? "" : Scalar("min", min.F));
                        node.Input.Add(max is null ? "" : Scalar("max", max.F));
                        break;
                    }

                case "Pad" when opset < 11:
                    {
                        var pads = Take("pads");
                        var value = Take("value");
                        node.Input.Add(Longs("pads", pads?.Ints ?? Enumerable.Empty<long>()));
                        if (value is not null)
                        {
                            node.Input.Add(Scalar("value", value.F));
                        }

                        break;
                    }

                case "Split" when opset < 13:
                    if (Take("split") is { } split)
                    {
                        node.Input.Add(Longs("split", split.Ints));
                    }

                    break;
                case "Squeeze" or "Unsqueeze" when opset < 13:
                    if (Take("axes") is { } axes)
                    {
                        node.Input.Add(Longs("axes", axes.Ints));
                    }

                    break;
            }

            return node;
        }

        private string CopyInitializer(string path, TensorProto stored)
        {
            string name = $"{path}.{stored.Name}";
            if (written.Add(name))
            {
                var copy = stored.Clone();
                copy.Name = name;
                Graph.Initializer.Add(copy);
            }

            return name;
        }

        private string Weight(string name)
        {
            if (written.Add(name))
            {
                var value = weights is not null && weights.TryGetValue(name, out var given) ? given
                    : own.TryGetValue(name, out var mine) ? mine
                    : throw new InvalidOperationException($"The model has no tensor \"{name}\" to export.");
                Graph.Initializer.Add(OnnxTensors.FromTensor(name, value));
            }

            return name;
        }

        private string Constant(string name, Tensor value)
        {
            Graph.Initializer.Add(OnnxTensors.FromTensor(name, value));
            return name;
        }

        private string Emit(string op, string[] inputs, params AttributeProto[] attributes)
        {
            string output = $"v{values++}";
            Graph.Node.Add(Node(op, inputs, output, attributes));
            return output;
        }

        private static NotSupportedException Unsupported(nn.Module module, string path, string? what) =>
            new($"Module \"{(path.Length == 0 ? "(the model)" : path)}\" ({module.GetType().Name}) {what ?? "is not a layer MixFit can write to ONNX"}. Exportable: Sequential models, TorchVision ResNets, imported ONNX graphs, TransferModel heads (Conv2d, BatchNorm2d, Linear, ReLU/ReLU6/Sigmoid/Tanh/SiLU/Hardswish, MaxPool2d, global pools, Flatten, Dropout).");
    }
}
