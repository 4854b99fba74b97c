using Microsoft.ML.OnnxRuntime;
using MixFit.Applications;
using MixFit.Onnx;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;
using Onnx;
using static TorchSharp.torch;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = TorchSharp.torch.Tensor;

namespace MixFit.Tests.Onnx;

/// <summary>Models trained or built in MixFit, exported to ONNX and run by ONNX Runtime: the same predictions.</summary>
public sealed class OnnxExporterTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-export-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static Tensor RunOnnx(string path, Tensor x)
    {
        using var session = new InferenceSession(path);
        var shape = x.shape.Select(d => (int)d).ToArray();
        using var result = session.Run(new[] { NamedOnnxValue.CreateFromTensor("input", new DenseTensor(x.contiguous().data<float>().ToArray(), shape)) });
        var output = result.First().AsTensor<float>();
        return tensor(output.ToArray()).reshape(output.Dimensions.ToArray().Select(d => (long)d).ToArray());
    }

    private static double Relative(Tensor ours, Tensor reference) =>
        (ours - reference).abs().max().item<float>() / Math.Max(1e-12, reference.abs().max().item<float>());

    [Fact]
    public void A_small_cnn_trained_in_mixfit_predicts_the_same_in_onnx_runtime()
    {
        var (x, y) = TinyProblems.FashionMnist(256);
        using var trainer = new Trainer(SmallCnn.Create(), CPU);
        trainer.Compile(new CompileOptions { Metrics = new[] { "accuracy" } });
        trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 64, Verbose = 0 });
        string path = Path.Combine(dir, "small-cnn.onnx");
        OnnxExporter.Export(trainer, path, 1, 28, 28);

        var test = x.narrow(0, 0, 16);
        var ours = trainer.Predict(test, batchSize: 16);
        var theirs = RunOnnx(path, test);
        Assert.Equal(ours.shape, theirs.shape);
        Assert.True(Relative(ours, theirs) < 1e-4, $"relative difference {Relative(ours, theirs):E2}");
        Assert.Equal(ours.argmax(1).data<long>().ToArray(), theirs.argmax(1).data<long>().ToArray());

        // The file reads back into MixFit as a graph that computes the same.
        using var reimported = OnnxGraph.Load(path);
        reimported.eval();
        using (no_grad())
        {
            Assert.True(Relative(reimported.call(test), theirs) < 1e-5);
        }
    }

    [Fact]
    public void Under_mixed_precision_the_file_holds_the_float32_masters()
    {
        var (x, y) = TinyProblems.FashionMnist(128);
        using var trainer = new Trainer(SmallCnn.Create(), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16 });
        trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 64, Verbose = 0 });
        Assert.Equal(ScalarType.BFloat16, trainer.Module.state_dict()["conv1.weight"].dtype);
        string path = Path.Combine(dir, "bf16.onnx");
        OnnxExporter.Export(trainer, path, 1, 28, 28);

        var stored = ModelProto.Parser.ParseFromFile(path).Graph.Initializer.Single(t => t.Name == "conv1.weight");
        Assert.Equal((int)TensorProto.Types.DataType.Float, stored.DataType);
        var values = new float[stored.RawData.Length / 4];
        Buffer.BlockCopy(stored.RawData.ToByteArray(), 0, values, 0, stored.RawData.Length);
        Assert.Equal(trainer.GetWeights()["conv1.weight"].to(ScalarType.Float32).data<float>().ToArray(), values);
    }

    [Fact]
    public void A_resnet_transfer_model_predicts_the_same_in_onnx_runtime()
    {
        manual_seed(3);
        var model = TransferModel.Create(BackboneKind.ResNet18, classes: 4, softmax: true);
        model.eval();
        string path = Path.Combine(dir, "resnet18.onnx");
        OnnxExporter.Export(model, path, new long[] { 3, 64, 64 });
        var x = rand(3, 3, 64, 64);
        Tensor ours;
        using (no_grad())
        {
            ours = model.call(x);
        }

        var theirs = RunOnnx(path, x);
        Assert.True(Relative(ours, theirs) < 1e-4, $"relative difference {Relative(ours, theirs):E2}");
        Assert.True(theirs.sum(1).allclose(ones(3), atol: 1e-5), "the softmax head is exported");
    }

    [Fact]
    public void An_imported_imagenet_graph_with_a_head_exports_with_its_preprocessing()
    {
        manual_seed(4);
        var model = TransferModel.Create(PretrainedModels.ResNet18ImageNet(), classes: 3);
        model.eval();
        string path = Path.Combine(dir, "imagenet-head.onnx");
        OnnxExporter.Export(model, path, new long[] { 3, 224, 224 });
        var x = ResNet18ImportTests.Images().narrow(0, 3, 2);
        Tensor ours;
        using (no_grad())
        {
            ours = model.call(x);
        }

        var theirs = RunOnnx(path, x);
        Assert.True(Relative(ours, theirs) < 1e-4, $"relative difference {Relative(ours, theirs):E2}");
    }

    [Fact]
    public void A_module_that_cannot_be_written_is_named_with_its_path()
    {
        var model = TransferModel.Create(BackboneKind.MobileNetV2, classes: 2);
        var error = Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(model, Path.Combine(dir, "m.onnx"), new long[] { 3, 64, 64 }));
        Assert.Matches("Module \"base\\.features\\.[0-9.]+\" \\(\\w+\\)", error.Message);
        Assert.False(File.Exists(Path.Combine(dir, "m.onnx")), "nothing is written when the export fails");
    }

    /// <summary>
    /// Every attribute the exporter writes, checked against its layer with non-default values (the defaults hide a
    /// hard-coded attribute): a grouped, dilated, strided, asymmetrically padded convolution, a BatchNorm with
    /// eps 1e-3, momentum 0.3 and a running variance near eps (where the epsilon matters), and a padded, strided,
    /// ceil-mode max pool; then ONNX Runtime computes what TorchSharp computes.
    /// </summary>
    [Fact]
    public void Non_default_layer_attributes_are_written_as_the_layers_hold_them_and_onnx_runtime_agrees()
    {
        manual_seed(21);
        var conv = nn.Conv2d(4, 6, kernel_size: (3, 2), stride: (2, 1), padding: (1, 2), dilation: (2, 1), groups: 2);
        var norm = nn.BatchNorm2d(6, eps: 1e-3, momentum: 0.3);
        var pool = nn.MaxPool2d(kernel_size: new long[] { 3, 2 }, stride: new long[] { 2, 1 }, padding: new long[] { 1, 1 }, dilation: new long[] { 1, 2 }, ceil_mode: true);
        var model = nn.Sequential(("conv", conv), ("bn", norm), ("relu", nn.ReLU()), ("pool", pool));
        using (no_grad())
        {
            norm.running_mean!.copy_(randn(6) * 0.1);
            norm.running_var!.copy_(rand(6) * 2e-3 + 1e-4);
            norm.weight!.copy_(rand(6) + 0.5);
            norm.bias!.copy_(randn(6) * 0.1);
        }

        model.eval();
        string path = Path.Combine(dir, "attributes.onnx");
        OnnxExporter.Export(model, path, new long[] { 4, 12, 10 });

        var nodes = ModelProto.Parser.ParseFromFile(path).Graph.Node;
        AttributeProto Attribute(string op, string name) => nodes.Single(n => n.OpType == op).Attribute.Single(a => a.Name == name);
        Assert.Equal(new long[] { 3, 2 }, Attribute("Conv", "kernel_shape").Ints);
        Assert.Equal(new long[] { 2, 1 }, Attribute("Conv", "strides").Ints);
        Assert.Equal(new long[] { 1, 2, 1, 2 }, Attribute("Conv", "pads").Ints);
        Assert.Equal(new long[] { 2, 1 }, Attribute("Conv", "dilations").Ints);
        Assert.Equal(2, Attribute("Conv", "group").I);
        Assert.Equal(1e-3f, Attribute("BatchNormalization", "epsilon").F);
        // ONNX's momentum weighs the running value (1 - PyTorch's momentum).
        Assert.Equal(0.7f, Attribute("BatchNormalization", "momentum").F, 1e-6f);
        Assert.Equal(new long[] { 3, 2 }, Attribute("MaxPool", "kernel_shape").Ints);
        Assert.Equal(new long[] { 2, 1 }, Attribute("MaxPool", "strides").Ints);
        Assert.Equal(new long[] { 1, 1, 1, 1 }, Attribute("MaxPool", "pads").Ints);
        Assert.Equal(new long[] { 1, 2 }, Attribute("MaxPool", "dilations").Ints);
        Assert.Equal(1, Attribute("MaxPool", "ceil_mode").I);

        var x = randn(3, 4, 12, 10);
        Tensor ours;
        using (no_grad())
        {
            ours = model.call(x);
        }

        var theirs = RunOnnx(path, x);
        Assert.Equal(ours.shape, theirs.shape);
        Assert.True(Relative(ours, theirs) < 1e-5, $"relative difference {Relative(ours, theirs):E2}");
    }
}
