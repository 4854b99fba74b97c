using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MixFit.Onnx;
using Onnx;
using static TorchSharp.torch;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = TorchSharp.torch.Tensor;

namespace MixFit.Tests.Onnx;

/// <summary>Small graphs the test writes, run by MixFit's importer and by ONNX Runtime: every supported op family, and bad files.</summary>
public sealed class OnnxGraphTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-onnx-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    private static NodeProto Node(string op, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = op.ToLowerInvariant() + "_" + output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dims.Select(d => d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "N" } : new TensorShapeProto.Types.Dimension { DimValue = d }));
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } } };
    }

    /// <summary>
    /// A MobileNet/VGG-flavoured graph: asymmetric-pad Conv with bias, BatchNormalization, Clip (ReLU6), HardSwish, Pad,
    /// MaxPool, AveragePool, Mul by a Sigmoid gate (squeeze-excite), Sub/Div by constants, Concat, GlobalAveragePool,
    /// Flatten, Gemm, Relu, Reshape and Softmax.
    /// </summary>
    private string WriteGraph()
    {
        using var generator = new TorchSharp.torch.Generator(11);
        var graph = new GraphProto { Name = "tiny" };
        void Init(string name, Tensor value) => graph.Initializer.Add(OnnxTensors.FromTensor(name, value));
        Init("w1", randn(new long[] { 6, 3, 3, 3 }, generator: generator) * 0.3);
        Init("b1", randn(new long[] { 6 }, generator: generator) * 0.1);
        Init("scale", rand(new long[] { 6 }, generator: generator) + 0.5);
        Init("shift", randn(new long[] { 6 }, generator: generator) * 0.1);
        Init("mean", randn(new long[] { 6 }, generator: generator) * 0.1);
        Init("var", rand(new long[] { 6 }, generator: generator) + 0.5);
        Init("lo", tensor(0f));
        Init("hi", tensor(6f));
        Init("offset", tensor(new float[] { 0.1f, -0.2f, 0.3f, 0, 0.05f, -0.1f }).reshape(1, 6, 1, 1));
        Init("two", tensor(2f));
        Init("fc", randn(new long[] { 5, 12 }, generator: generator) * 0.2);
        Init("fcb", randn(new long[] { 5 }, generator: generator) * 0.1);
        graph.Initializer.Add(OnnxTensors.FromLongs("pads", 0, 0, 1, 0, 0, 0, 0, 1));
        graph.Initializer.Add(OnnxTensors.FromLongs("shape", 0, -1));
        graph.Input.Add(Value("x", -1, 3, 12, 12));
        graph.Node.Add(Node("Conv", new[] { "x", "w1", "b1" }, "c1", Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 0, 0)));
        graph.Node.Add(Node("BatchNormalization", new[] { "c1", "scale", "shift", "mean", "var" }, "bn", Float("epsilon", 1e-3f)));
        graph.Node.Add(Node("Clip", new[] { "bn", "lo", "hi" }, "r6"));
        graph.Node.Add(Node("HardSwish", new[] { "r6" }, "hs"));
        graph.Node.Add(Node("Pad", new[] { "hs", "pads" }, "pd", new AttributeProto { Name = "mode", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8("constant") }));
        graph.Node.Add(Node("MaxPool", new[] { "pd" }, "mp", Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 0, 0)));
        graph.Node.Add(Node("AveragePool", new[] { "mp" }, "ap", Ints("kernel_shape", 3, 3), Ints("strides", 1, 1), Ints("pads", 1, 1, 1, 1)));
        graph.Node.Add(Node("GlobalAveragePool", new[] { "ap" }, "gp"));
        graph.Node.Add(Node("Sigmoid", new[] { "gp" }, "gate"));
        graph.Node.Add(Node("Mul", new[] { "ap", "gate" }, "se"));
        graph.Node.Add(Node("Sub", new[] { "se", "offset" }, "sub"));
        graph.Node.Add(Node("Div", new[] { "sub", "two" }, "half"));
        graph.Node.Add(Node("Concat", new[] { "half", "se" }, "both", Int("axis", 1)));
        graph.Node.Add(Node("GlobalAveragePool", new[] { "both" }, "pooled"));
        graph.Node.Add(Node("Flatten", new[] { "pooled" }, "flat", Int("axis", 1)));
        graph.Node.Add(Node("Gemm", new[] { "flat", "fc", "fcb" }, "dense", Int("transB", 1), Float("alpha", 0.9f)));
        graph.Node.Add(Node("Relu", new[] { "dense" }, "relu"));
        graph.Node.Add(Node("Reshape", new[] { "relu", "shape" }, "reshaped"));
        graph.Node.Add(Node("Softmax", new[] { "reshaped" }, "y", Int("axis", 1)));
        graph.Output.Add(Value("y", -1, 5));
        var model = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "MixFit tests" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 14 });
        string path = Path.Combine(dir, "tiny.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    [Fact]
    public void A_graph_of_every_op_family_gives_onnx_runtimes_outputs()
    {
        string path = WriteGraph();
        using var generator = new TorchSharp.torch.Generator(5);
        var x = rand(new long[] { 4, 3, 12, 12 }, generator: generator);
        using var session = new InferenceSession(path);
        using var result = session.Run(new[] { NamedOnnxValue.CreateFromTensor("x", new DenseTensor(x.contiguous().data<float>().ToArray(), new[] { 4, 3, 12, 12 })) });
        var expected = tensor(result.First().AsTensor<float>().ToArray()).reshape(4, 5);

        using var graph = OnnxGraph.Load(path);
        graph.eval();
        using var _ = no_grad();
        var ours = graph.call(x);
        Assert.Equal(new long[] { 4, 5 }, ours.shape);
        Assert.True(ours.allclose(expected, rtol: 1e-5, atol: 1e-6), $"max difference {(ours - expected).abs().max().item<float>():E2}");
        Assert.True(expected.std().item<float>() > 1e-3, "the outputs differ between samples");
    }

    [Fact]
    public void Imported_layers_train_and_their_gradients_reach_the_onnx_weights()
    {
        using var graph = OnnxGraph.Load(WriteGraph());
        var conv = graph.state_dict()["conv_c1.weight"];
        Assert.Equal("w1", graph.SourceNames["conv_c1.weight"]);
        Assert.Equal("var", graph.SourceNames["batchnormalization_bn.running_var"]);
        var loss = graph.call(rand(2, 3, 12, 12)).select(1, 0).sum();
        loss.backward();
        var grad = graph.named_parameters().Single(p => p.name == "conv_c1.weight").parameter.grad;
        Assert.NotNull(grad);
        Assert.True(grad!.abs().sum().item<float>() > 0);
        Assert.Equal(conv.shape, grad.shape);
    }

    [Fact]
    public void An_unsupported_op_names_the_node_the_op_and_the_supported_ops()
    {
        var graph = new GraphProto();
        graph.Input.Add(Value("x", -1, 4));
        graph.Node.Add(Node("Erf", new[] { "x" }, "y"));
        graph.Output.Add(Value("y", -1, 4));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = 13 });
        string path = Path.Combine(dir, "erf.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var error = Assert.Throws<NotSupportedException>(() => OnnxGraph.Load(path));
        Assert.Contains("erf.onnx: node \"erf_y\" has op Erf, which MixFit cannot import", error.Message);
        Assert.Contains("Supported ops: Add, AveragePool, BatchNormalization", error.Message);
    }

    [Fact]
    public void A_truncated_or_foreign_file_is_an_error_naming_it()
    {
        string good = WriteGraph();
        var bytes = File.ReadAllBytes(good);
        string truncated = Path.Combine(dir, "truncated.onnx");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var cut = Assert.Throws<InvalidDataException>(() => OnnxGraph.Load(truncated));
        Assert.Contains("truncated.onnx", cut.Message);

        string text = Path.Combine(dir, "notes.onnx");
        File.WriteAllText(text, "these are notes, not a model\n");
        var foreign = Assert.Throws<InvalidDataException>(() => OnnxGraph.Load(text));
        Assert.Contains("notes.onnx is not an ONNX model", foreign.Message);

        Assert.Throws<FileNotFoundException>(() => OnnxGraph.Load(Path.Combine(dir, "missing.onnx")));
    }

    [Fact]
    public void Nodes_with_the_same_name_become_distinct_layers_each_traced_to_its_own_initializer()
    {
        var graph = new GraphProto();
        graph.Initializer.Add(OnnxTensors.FromTensor("first", ones(2, 1, 1, 1)));
        graph.Initializer.Add(OnnxTensors.FromTensor("second", ones(2, 2, 1, 1) * 2));
        graph.Input.Add(Value("x", -1, 1, 3, 3));
        var a = Node("Conv", new[] { "x", "first" }, "a");
        var b = Node("Conv", new[] { "a", "second" }, "b");
        a.Name = b.Name = "conv";
        graph.Node.Add(a);
        graph.Node.Add(b);
        graph.Output.Add(Value("b", -1, 2, 3, 3));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = 13 });
        string path = Path.Combine(dir, "twins.onnx");
        File.WriteAllBytes(path, model.ToByteArray());

        using var loaded = OnnxGraph.Load(path);
        Assert.Equal("first", loaded.SourceNames["conv.weight"]);
        Assert.Equal("second", loaded.SourceNames["conv_2.weight"]);
        Assert.Equal(new long[] { 2, 1, 1, 1 }, loaded.state_dict()["conv.weight"].shape);
        Assert.Equal(new long[] { 2, 2, 1, 1 }, loaded.state_dict()["conv_2.weight"].shape);
    }

    [Fact]
    public void A_truncated_preprocessing_graph_is_an_error_naming_it()
    {
        var bytes = File.ReadAllBytes(MixFit.Applications.PretrainedModels.ResNet18PreprocessPath());
        string cut = Path.Combine(dir, "prep-cut.onnx");
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 3)]);
        var error = Assert.Throws<InvalidDataException>(() => MixFit.Applications.ImagePreprocessing.FromOnnx(cut));
        Assert.Contains("prep-cut.onnx", error.Message);
        Assert.Throws<FileNotFoundException>(() => MixFit.Applications.ImagePreprocessing.FromOnnx(Path.Combine(dir, "missing.onnx")));
    }
}
