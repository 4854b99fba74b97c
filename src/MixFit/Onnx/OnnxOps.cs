using System.Globalization;
using System.Text;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MixFit.Onnx;

/// <summary>
/// Turns ONNX nodes into <see cref="OnnxStep"/>s: layers with weights become TorchSharp modules (named after the node),
/// constant initializers become buffers, and everything else is a TorchSharp op.
/// </summary>
internal sealed class OnnxOps
{
    /// <summary>The op types <see cref="Build"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Supported = new[]
    {
        "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv", "Div", "Dropout", "Flatten", "Gather", "Gemm",
        "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity", "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad",
        "Relu", "Reshape", "Sigmoid", "Softmax", "Split", "Squeeze", "Sub", "Sum", "Tanh", "Transpose", "Unsqueeze",
    };

    private readonly string file;
    private readonly long opset;
    private readonly IReadOnlyDictionary<string, TensorProto> initializers;
    private readonly HashSet<string> layerNames = new(StringComparer.Ordinal);

    public OnnxOps(string file, long opset, IReadOnlyDictionary<string, TensorProto> initializers)
    {
        this.file = file;
        this.opset = opset;
        this.initializers = initializers;
    }

    /// <summary>The layers with weights, by module name.</summary>
    public List<(string Name, nn.Module Layer)> Layers { get; } = new();

    /// <summary>Constant tensors the steps read, by buffer name.</summary>
    public List<(string Name, Tensor Value)> Constants { get; } = new();

    /// <summary>The names in <see cref="Constants"/>.</summary>
    public HashSet<string> ConstantBuffers { get; } = new(StringComparer.Ordinal);

    /// <summary>The initializer behind each parameter and buffer, by state-dict name.</summary>
    public Dictionary<string, string> SourceNames { get; } = new(StringComparer.Ordinal);

    /// <summary>The layer (module name) each node with weights became, by node index.</summary>
    public Dictionary<int, string> LayerOfNode { get; } = new();

    private readonly List<(string Parameter, string Source)> pendingSources = new();
    private int current;

    /// <summary>The buffer name of a constant graph value.</summary>
    public static string ConstantName(string value) => "const_" + Sanitize(value);

    /// <summary>Builds the step for <paramref name="node"/> (the <paramref name="index"/>-th).</summary>
    /// <exception cref="NotSupportedException">An op or attribute value MixFit cannot import; the message names the node and op.</exception>
    public OnnxStep Build(NodeProto node, int index)
    {
        current = index;
        string name = node.Name.Length > 0 ? node.Name : $"{node.OpType}_{index}";
        var a = node.Attribute.ToDictionary(x => x.Name, StringComparer.Ordinal);
        string[] inputs = node.Input.ToArray();
        string[] outputs = node.Output.ToArray();
        OnnxStep Step(Func<Tensor?[], bool, Tensor[]> run, params string[] runtimeInputs) => new(node.OpType, name, runtimeInputs, outputs, run);
        OnnxStep Unary(Func<Tensor, Tensor> f) => Step((x, _) => new[] { f(x[0]!) }, inputs[0]);
        OnnxStep Binary(Func<Tensor, Tensor, Tensor> f)
        {
            UseConstants(inputs);
            return Step((x, _) => new[] { f(x[0]!, x[1]!) }, inputs);
        }

        switch (node.OpType)
        {
            case "Conv":
                return Conv(node, name, a, inputs, outputs);
            case "BatchNormalization":
                return BatchNorm(node, name, a, inputs, outputs);
            case "Gemm":
                return Gemm(node, name, a, inputs, outputs);
            case "MatMul" when initializers.TryGetValue(inputs[1], out var weight) && weight.Dims.Count == 2:
                {
                    var w = Initializer(weight);
                    var linear = nn.Linear(w.shape[0], w.shape[1], hasBias: false);
                    Copy(linear.weight!, w.t(), name, "weight", inputs[1]);
                    AddLayer(name, linear);
                    return Step((x, _) => new[] { linear.call(x[0]!) }, inputs[0]);
                }

            case "MatMul":
                return Binary((x, y) => x.matmul(y));
            case "Relu":
                return Unary(x => x.relu());
            case "Sigmoid":
                return Unary(x => x.sigmoid());
            case "Tanh":
                return Unary(x => x.tanh());
            case "LeakyRelu":
                {
                    double alpha = Float(a, "alpha", 0.01);
                    return Unary(x => F.leaky_relu(x, alpha));
                }

            case "HardSigmoid":
                {
                    double alpha = Float(a, "alpha", 0.2), beta = Float(a, "beta", 0.5);
                    return Unary(x => (x * alpha + beta).clamp(0, 1));
                }

            case "HardSwish":
                return Unary(x => x * (x + 3).clamp(0, 6) / 6);
            case "Identity":
                return Unary(x => x.alias());
            case "Dropout":
                {
                    double ratio = opset < 12 ? Float(a, "ratio", 0.5) : inputs.Length > 1 && inputs[1].Length > 0 ? ScalarOf(inputs[1], node) : 0.5;
                    return Step((x, training) => new[] { training && ratio > 0 ? F.dropout(x[0]!, ratio, true) : x[0]!.alias() }, inputs[0]);
                }

            case "Add":
                return Binary((x, y) => x + y);
            case "Sub":
                return Binary((x, y) => x - y);
            case "Mul":
                return Binary((x, y) => x * y);
            case "Div":
                return Binary((x, y) => x / y);
            case "Sum":
                UseConstants(inputs);
                return Step((x, _) => new[] { x.Skip(1).Aggregate(x[0]!, (s, t) => s + t!) }, inputs);
            case "GlobalAveragePool":
                return Unary(x => x.mean(Enumerable.Range(2, (int)x.dim() - 2).Select(d => (long)d).ToArray(), keepdim: true));
            case "GlobalMaxPool":
                return Unary(x => x.amax(Enumerable.Range(2, (int)x.dim() - 2).Select(d => (long)d).ToArray(), keepdim: true));
            case "MaxPool":
            case "AveragePool":
                return Pool(node, name, a, inputs, outputs);
            case "Flatten":
                {
                    long axis = Int(a, "axis", 1);
                    return Unary(x =>
                    {
                        long at = axis < 0 ? axis + x.dim() : axis;
                        long outer = x.shape.Take((int)at).Aggregate(1L, (p, d) => p * d);
                        return x.reshape(outer, -1);
                    });
                }

            case "Reshape":
                {
                    long[] shape = Longs(inputs[1], node);
                    bool allowZero = Int(a, "allowzero", 0) != 0;
                    return Unary(x => x.reshape(shape.Select((d, i) => d == 0 && !allowZero ? x.shape[i] : d).ToArray()));
                }

            case "Concat":
                {
                    long axis = Int(a, "axis", 1);
                    UseConstants(inputs);
                    return Step((x, _) => new[] { cat(x.Select(t => t!).ToList(), axis) }, inputs);
                }

            case "Split":
                {
                    long axis = Int(a, "axis", 0);
                    long[]? sizes = a.TryGetValue("split", out var s) ? s.Ints.ToArray() : inputs.Length > 1 && inputs[1].Length > 0 ? Longs(inputs[1], node) : null;
                    return Unary1(x =>
                    {
                        long at = axis < 0 ? axis + x.dim() : axis;
                        var parts = sizes ?? Enumerable.Repeat(x.shape[at] / outputs.Length, outputs.Length).ToArray();
                        return x.split(parts, at);
                    });
                }

            case "Clip":
                {
                    double? min = opset < 11 ? Float(a, "min", double.NegativeInfinity) : inputs.Length > 1 && inputs[1].Length > 0 ? ScalarOf(inputs[1], node) : null;
                    double? max = opset < 11 ? Float(a, "max", double.PositiveInfinity) : inputs.Length > 2 && inputs[2].Length > 0 ? ScalarOf(inputs[2], node) : null;
                    return Unary(x => x.clamp(min is { } lo && !double.IsInfinity(lo) ? lo : null, max is { } hi && !double.IsInfinity(hi) ? hi : null));
                }

            case "Pad":
                return Pad(node, name, a, inputs);
            case "Softmax":
                {
                    long axis = Int(a, "axis", opset < 13 ? 1 : -1);
                    return Unary(x => x.softmax(axis));
                }

            case "Gather":
                {
                    long axis = Int(a, "axis", 0);
                    long[] indices = Longs(inputs[1], node);
                    bool scalar = initializers[inputs[1]].Dims.Count == 0;
                    return Unary(x =>
                    {
                        long at = axis < 0 ? axis + x.dim() : axis;
                        var picked = x.index_select(at, tensor(indices.Select(i => i < 0 ? i + x.shape[at] : i).ToArray(), device: x.device));
                        return scalar ? picked.squeeze(at) : picked;
                    });
                }

            case "Transpose":
                {
                    long[]? perm = a.TryGetValue("perm", out var p) ? p.Ints.ToArray() : null;
                    return Unary(x => x.permute(perm ?? Enumerable.Range(0, (int)x.dim()).Reverse().Select(d => (long)d).ToArray()));
                }

            case "Squeeze":
            case "Unsqueeze":
                {
                    long[]? axes = a.TryGetValue("axes", out var ax) ? ax.Ints.ToArray() : inputs.Length > 1 && inputs[1].Length > 0 ? Longs(inputs[1], node) : null;
                    bool squeeze = node.OpType == "Squeeze";
                    return Unary(x =>
                    {
                        if (squeeze)
                        {
                            var dims = axes ?? x.shape.Select((d, i) => (d, i)).Where(t => t.d == 1).Select(t => (long)t.i).ToArray();
                            return dims.Select(d => d < 0 ? d + x.dim() : d).OrderDescending().Aggregate(x, (t, d) => t.squeeze(d));
                        }

                        long rank = x.dim() + axes!.Length;
                        return axes.Select(d => d < 0 ? d + rank : d).Order().Aggregate(x, (t, d) => t.unsqueeze(d));
                    });
                }

            case "Constant":
                {
                    if (!a.TryGetValue("value", out var value) || value.T is null)
                    {
                        throw Unsupported(node, name, "a Constant without a tensor \"value\"");
                    }

                    AddConstant(outputs[0], OnnxTensors.ToTensor(value.T, file));
                    return Step((_, _) => Array.Empty<Tensor>());
                }

            default:
                throw Unsupported(node, name, null);
        }

        OnnxStep Unary1(Func<Tensor, Tensor[]> f) => Step((x, _) => f(x[0]!), inputs[0]);
    }

    private OnnxStep Conv(NodeProto node, string name, Dictionary<string, AttributeProto> a, string[] inputs, string[] outputs)
    {
        if (!initializers.TryGetValue(inputs[1], out var weightProto))
        {
            throw Unsupported(node, name, "a Conv whose weight is computed rather than stored");
        }

        var weight = Initializer(weightProto);
        if (weight.dim() != 4)
        {
            throw Unsupported(node, name, $"a {weight.dim() - 2}-D convolution (2-D only)");
        }

        long groups = Int(a, "group", 1);
        long[] kernel = a.TryGetValue("kernel_shape", out var k) ? k.Ints.ToArray() : new[] { weight.shape[2], weight.shape[3] };
        long[] strides = Ints(a, "strides", 1, 1);
        long[] dilations = Ints(a, "dilations", 1, 1);
        long[] pads = Ints(a, "pads", 0, 0, 0, 0);
        string autoPad = String(a, "auto_pad", "NOTSET");
        bool hasBias = inputs.Length > 2 && inputs[2].Length > 0;
        var conv = nn.Conv2d(weight.shape[1] * groups, weight.shape[0], (kernel[0], kernel[1]), stride: (strides[0], strides[1]),
            padding: (0, 0), dilation: (dilations[0], dilations[1]), groups: groups, bias: hasBias);
        Copy(conv.weight!, weight, name, "weight", inputs[1]);
        if (hasBias)
        {
            Copy(conv.bias!, Initializer(Required(inputs[2], node, name)), name, "bias", inputs[2]);
        }

        AddLayer(name, conv);
        return new OnnxStep(node.OpType, name, new[] { inputs[0] }, outputs, (x, _) =>
        {
            var padded = Padded(x[0]!, autoPad, pads, kernel, strides, dilations, 0, node, name);
            return new[] { conv.call(padded) };
        });
    }

    private OnnxStep BatchNorm(NodeProto node, string name, Dictionary<string, AttributeProto> a, string[] inputs, string[] outputs)
    {
        if (opset < 9 && Int(a, "spatial", 1) != 1)
        {
            throw Unsupported(node, name, "BatchNormalization with spatial=0");
        }

        var scale = Initializer(Required(inputs[1], node, name));
        var norm = nn.BatchNorm2d(scale.shape[0], eps: Float(a, "epsilon", 1e-5), momentum: 1 - Float(a, "momentum", 0.9));
        Copy(norm.weight!, scale, name, "weight", inputs[1]);
        Copy(norm.bias!, Initializer(Required(inputs[2], node, name)), name, "bias", inputs[2]);
        Copy(norm.running_mean!, Initializer(Required(inputs[3], node, name)), name, "running_mean", inputs[3]);
        Copy(norm.running_var!, Initializer(Required(inputs[4], node, name)), name, "running_var", inputs[4]);
        AddLayer(name, norm);
        return new OnnxStep(node.OpType, name, new[] { inputs[0] }, outputs, (x, training) =>
        {
            var value = x[0]!;
            if (value.dim() == 4)
            {
                return new[] { norm.call(value) };
            }

            return new[] { F.batch_norm(value, norm.running_mean, norm.running_var, norm.weight, norm.bias, norm.training, 1 - Float(a, "momentum", 0.9), Float(a, "epsilon", 1e-5)) };
        });
    }

    private OnnxStep Gemm(NodeProto node, string name, Dictionary<string, AttributeProto> a, string[] inputs, string[] outputs)
    {
        if (Int(a, "transA", 0) != 0 || !initializers.TryGetValue(inputs[1], out var b))
        {
            throw Unsupported(node, name, "a Gemm with transA=1 or a computed B (a dense layer has a stored B)");
        }

        double alpha = Float(a, "alpha", 1), beta = Float(a, "beta", 1);
        var weight = Initializer(b);
        if (Int(a, "transB", 0) == 0)
        {
            weight = weight.t();
        }

        bool hasBias = inputs.Length > 2 && inputs[2].Length > 0;
        var linear = nn.Linear(weight.shape[1], weight.shape[0], hasBias: hasBias);
        Copy(linear.weight!, weight * alpha, name, "weight", inputs[1]);
        if (hasBias)
        {
            var bias = Initializer(Required(inputs[2], node, name)) * beta;
            Copy(linear.bias!, bias.numel() == 1 ? bias.reshape(1).expand(weight.shape[0]) : bias.reshape(weight.shape[0]), name, "bias", inputs[2]);
        }

        AddLayer(name, linear);
        return new OnnxStep(node.OpType, name, new[] { inputs[0] }, outputs, (x, _) => new[] { linear.call(x[0]!) });
    }

    private OnnxStep Pool(NodeProto node, string name, Dictionary<string, AttributeProto> a, string[] inputs, string[] outputs)
    {
        long[] kernel = a.TryGetValue("kernel_shape", out var k) && k.Ints.Count == 2
            ? k.Ints.ToArray()
            : throw Unsupported(node, name, "a pool that is not 2-D");
        long[] strides = Ints(a, "strides", 1, 1);
        long[] dilations = Ints(a, "dilations", 1, 1);
        long[] pads = Ints(a, "pads", 0, 0, 0, 0);
        string autoPad = String(a, "auto_pad", "NOTSET");
        bool ceil = Int(a, "ceil_mode", 0) != 0;
        bool max = node.OpType == "MaxPool";
        bool countPad = Int(a, "count_include_pad", 0) != 0;
        bool symmetric = autoPad is "NOTSET" or "VALID" && pads[0] == pads[2] && pads[1] == pads[3];
        if (!max && (dilations[0] != 1 || dilations[1] != 1))
        {
            throw Unsupported(node, name, "a dilated AveragePool");
        }

        if (!max && !symmetric && !countPad)
        {
            throw Unsupported(node, name, "an AveragePool with asymmetric padding that excludes the padding from the average (count_include_pad=0)");
        }

        return new OnnxStep(node.OpType, name, new[] { inputs[0] }, outputs, (x, _) =>
        {
            var value = x[0]!;
            long[] padding = symmetric && autoPad != "VALID" ? new[] { pads[0], pads[1] } : new long[] { 0, 0 };
            if (!symmetric)
            {
                value = Padded(value, autoPad, pads, kernel, strides, dilations, max ? double.NegativeInfinity : 0, node, name);
            }

            return new[]
            {
                max
                    ? F.max_pool2d(value, kernel, strides, padding, dilations, ceil)
                    : F.avg_pool2d(value, kernel, strides, padding, ceil, countPad),
            };
        });
    }

    private OnnxStep Pad(NodeProto node, string name, Dictionary<string, AttributeProto> a, string[] inputs)
    {
        long[] pads = opset < 11 ? Ints(a, "pads") : Longs(inputs[1], node);
        double value = opset < 11 ? Float(a, "value", 0) : inputs.Length > 2 && inputs[2].Length > 0 ? ScalarOf(inputs[2], node) : 0;
        var mode = String(a, "mode", "constant") switch
        {
            "constant" => PaddingModes.Constant,
            "reflect" => PaddingModes.Reflect,
            "edge" => PaddingModes.Replicate,
            var other => throw Unsupported(node, name, $"Pad mode \"{other}\""),
        };
        int rank = pads.Length / 2;
        var torchPads = Enumerable.Range(0, rank).Reverse().SelectMany(d => new[] { pads[d], pads[d + rank] }).ToArray();
        if (mode != PaddingModes.Constant && (pads[0] != 0 || pads[rank] != 0 || pads[1] != 0 || pads[rank + 1] != 0))
        {
            throw Unsupported(node, name, "a reflect/edge Pad of the batch or channel dims");
        }

        int spatial = mode == PaddingModes.Constant ? torchPads.Length : (rank - 2) * 2;
        return new OnnxStep(node.OpType, name, new[] { inputs[0] }, node.Output.ToArray(), (x, _) => new[] { F.pad(x[0]!, torchPads.Take(spatial).ToArray(), mode, value) });
    }

    /// <summary>Pads for a conv or pool: explicit asymmetric pads, or SAME_UPPER/SAME_LOWER computed from the input size.</summary>
    private static Tensor Padded(Tensor x, string autoPad, long[] pads, long[] kernel, long[] strides, long[] dilations, double value, NodeProto node, string name)
    {
        long top = pads[0], left = pads[1], bottom = pads[2], right = pads[3];
        switch (autoPad)
        {
            case "NOTSET":
                break;
            case "VALID":
                top = left = bottom = right = 0;
                break;
            case "SAME_UPPER":
            case "SAME_LOWER":
                long Total(int d) => Math.Max(0, ((((x.shape[d + 2] + strides[d]) - 1) / strides[d]) - 1) * strides[d] + ((kernel[d] - 1) * dilations[d]) + 1 - x.shape[d + 2]);
                long th = Total(0), tw = Total(1);
                bool upper = autoPad == "SAME_UPPER";
                top = upper ? th / 2 : th - (th / 2);
                bottom = th - top;
                left = upper ? tw / 2 : tw - (tw / 2);
                right = tw - left;
                break;
            default:
                throw new NotSupportedException($"node \"{name}\" ({node.OpType}) has auto_pad \"{autoPad}\" (NOTSET, VALID, SAME_UPPER and SAME_LOWER are imported).");
        }

        return top == 0 && left == 0 && bottom == 0 && right == 0 ? x : F.pad(x, new[] { left, right, top, bottom }, PaddingModes.Constant, value);
    }

    private void UseConstants(IEnumerable<string> names)
    {
        foreach (var value in names.Where(n => n.Length > 0 && initializers.ContainsKey(n)))
        {
            if (!ConstantBuffers.Contains(ConstantName(value)))
            {
                AddConstant(value, OnnxTensors.ToTensor(initializers[value], file));
            }
        }
    }

    private void AddConstant(string value, Tensor tensor)
    {
        string buffer = ConstantName(value);
        Constants.Add((buffer, tensor));
        ConstantBuffers.Add(buffer);
        SourceNames[buffer] = value;
    }

    /// <summary>Registers a layer under its node's name (made unique) and traces the weights <see cref="Copy"/> gave it to their initializers.</summary>
    private void AddLayer(string name, nn.Module layer)
    {
        string module = Sanitize(name);
        for (int n = 2; !layerNames.Add(module); n++)
        {
            module = $"{Sanitize(name)}_{n}";
        }

        foreach (var (parameter, source) in pendingSources)
        {
            SourceNames[$"{module}.{parameter}"] = source;
        }

        pendingSources.Clear();
        Layers.Add((module, layer));
        LayerOfNode[current] = module;
    }

    /// <summary>Copies an initializer into a layer's tensor; <see cref="AddLayer"/> records where it came from once the layer has its name.</summary>
    private void Copy(Tensor target, Tensor value, string node, string parameter, string source)
    {
        if (!target.shape.SequenceEqual(value.shape))
        {
            throw new InvalidDataException($"{file}: node \"{node}\": initializer \"{source}\" has shape [{string.Join(",", value.shape)}] where the layer's {parameter} has [{string.Join(",", target.shape)}].");
        }

        using (no_grad())
        {
            target.copy_(value.to(target.dtype));
        }

        pendingSources.Add((parameter, source));
    }

    private Tensor Initializer(TensorProto proto) => OnnxTensors.ToTensor(proto, file).to(ScalarType.Float32);

    private TensorProto Required(string input, NodeProto node, string name) =>
        initializers.TryGetValue(input, out var proto) ? proto : throw Unsupported(node, name, $"a {node.OpType} whose input \"{input}\" is computed rather than stored");

    private long[] Longs(string input, NodeProto node)
    {
        if (!initializers.TryGetValue(input, out var proto))
        {
            throw Unsupported(node, node.Name, $"a {node.OpType} whose \"{input}\" is computed at run time (MixFit needs it stored in the file)");
        }

        using var values = OnnxTensors.ToTensor(proto, file).to(ScalarType.Int64);
        return values.data<long>().ToArray();
    }

    private double ScalarOf(string input, NodeProto node)
    {
        if (!initializers.TryGetValue(input, out var proto))
        {
            throw Unsupported(node, node.Name, $"a {node.OpType} whose \"{input}\" is computed at run time");
        }

        using var value = OnnxTensors.ToTensor(proto, file).to(ScalarType.Float64);
        return value.reshape(-1)[0].item<double>();
    }

    private NotSupportedException Unsupported(NodeProto node, string name, string? what) =>
        new(what is null
            ? $"{file}: node \"{name}\" has op {node.OpType}, which MixFit cannot import. Supported ops: {string.Join(", ", Supported)}."
            : $"{file}: node \"{name}\" ({node.OpType}) is {what}, which MixFit cannot import.");

    private static long Int(Dictionary<string, AttributeProto> a, string name, long fallback) => a.TryGetValue(name, out var v) ? v.I : fallback;

    private static double Float(Dictionary<string, AttributeProto> a, string name, double fallback) => a.TryGetValue(name, out var v) ? v.F : fallback;

    private static string String(Dictionary<string, AttributeProto> a, string name, string fallback) => a.TryGetValue(name, out var v) ? v.S.ToStringUtf8() : fallback;

    private static long[] Ints(Dictionary<string, AttributeProto> a, string name, params long[] fallback) => a.TryGetValue(name, out var v) && v.Ints.Count > 0 ? v.Ints.ToArray() : fallback;

    private static string Sanitize(string name)
    {
        var text = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            text.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        return text.Length == 0 || char.IsAsciiDigit(text[0]) ? "n" + text : text.ToString();
    }
}
