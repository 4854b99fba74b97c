using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using MixFit.Applications;
using MixFit.Data;
using MixFit.Precision;
using MixFit.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace MixFit.Tests.Onnx;

/// <summary>
/// ML.NET's ImageNet ResNet18 (from NuGet) imported by MixFit against ONNX Runtime running the original files, on
/// real Fashion-MNIST images (224x224 RGB) and two drawn pictures.
/// </summary>
public sealed class ResNet18ImportTests
{
    private static readonly Lazy<OnnxBackbone> Backbone = new(() =>
    {
        var backbone = PretrainedModels.ResNet18ImageNet();
        backbone.eval();
        return backbone;
    });

    private readonly ITestOutputHelper output;

    public ResNet18ImportTests(ITestOutputHelper output) => this.output = output;

    /// <summary>Six [3, 224, 224] images in [0, 1]: four Fashion-MNIST test images (bilinear, grey to RGB) and two drawn ones.</summary>
    internal static Tensor Images()
    {
        var (x, _) = FashionMnist.LoadEmbedded(FashionMnistSplit.Test).ToTensors(4);
        var fashion = nn.functional.interpolate(x, new long[] { 224, 224 }, mode: InterpolationMode.Bilinear, align_corners: false).expand(-1, 3, -1, -1);
        var ramp = linspace(0, 1, 224);
        var gradient = stack(new[] { ramp.unsqueeze(0).expand(224, 224), ramp.unsqueeze(1).expand(224, 224), (1 - ramp).unsqueeze(0).expand(224, 224) });
        var twoTone = zeros(3, 224, 224);
        twoTone[0, .., ..112] = tensor(1f);
        twoTone[2, .., 112..] = tensor(0.8f);
        return cat(new[] { fashion.clamp(0, 1), gradient.unsqueeze(0), twoTone.unsqueeze(0) }).contiguous();
    }

    /// <summary>ONNX Runtime: the preprocessing graph on 0..255 pixels, then the ResNet18 graph, one image at a time (its batch is fixed at 1).</summary>
    internal static float[][] OnnxRuntimeFeatures(Tensor images)
    {
        using var preprocess = new InferenceSession(PretrainedModels.ResNet18PreprocessPath());
        using var resnet = new InferenceSession(PretrainedModels.ResNet18OnnxPath());
        var results = new List<float[]>();
        for (int i = 0; i < images.shape[0]; i++)
        {
            var pixels = (images[i] * 255).contiguous().data<float>().ToArray();
            var input = new DenseTensor(pixels, new[] { 1, 3, 224, 224 });
            using var prepared = preprocess.Run(new[] { NamedOnnxValue.CreateFromTensor("OriginalInput", input) });
            var bgr = prepared.First().AsTensor<float>().ToArray();
            using var features = resnet.Run(new[] { NamedOnnxValue.CreateFromTensor("Input247", new DenseTensor(bgr, new[] { 1, 3, 224, 224 })) });
            results.Add(features.First().AsTensor<float>().ToArray());
        }

        return results.ToArray();
    }

    private static double RelativeDifference(Tensor ours, float[][] reference)
    {
        var expected = tensor(reference.SelectMany(r => r).ToArray()).reshape(reference.Length, -1);
        return (ours.to(ScalarType.Float32) - expected).abs().max().item<float>() / expected.abs().max().item<float>();
    }

    [Fact]
    public void The_imported_resnet18_gives_onnx_runtimes_features_within_1e_4_in_float32()
    {
        var images = Images();
        var reference = OnnxRuntimeFeatures(images);
        Tensor features;
        using (no_grad())
        {
            features = Backbone.Value.call(images);
        }

        Assert.Equal(new long[] { 6, 512 }, features.shape);
        Assert.Equal(512, Backbone.Value.Features);
        double difference = RelativeDifference(features, reference);
        output.WriteLine($"float32: max |MixFit - ONNX Runtime| / max |ONNX Runtime| = {difference:E2} over {features.numel()} features");
        Assert.True(difference < 1e-4, $"relative difference {difference:E2}");
        Assert.True(features.std().item<float>() > 0.1, "the features vary across images");
    }

    [Fact]
    public void Under_mixed_bfloat16_the_features_stay_close_and_the_norms_stay_float32()
    {
        var images = Images().narrow(0, 0, 3);
        var reference = OnnxRuntimeFeatures(images);
        var backbone = PretrainedModels.ResNet18ImageNet();
        using var trainer = new Trainer(backbone, CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16, Loss = "mse" });
        Assert.Equal(ScalarType.BFloat16, backbone.state_dict()["graph.Convolution249.weight"].dtype);
        Assert.Equal(ScalarType.Float32, backbone.state_dict()["graph.BatchNormalization251.weight"].dtype);
        var features = trainer.Predict(images, batchSize: 3);
        double difference = RelativeDifference(features, reference);
        output.WriteLine($"mixed_bfloat16: max |MixFit - ONNX Runtime float32| / max |ONNX Runtime| = {difference:E2}");
        Assert.True(difference < 0.1, $"relative difference {difference:E2} (4.3E-02 on an AMD EPYC with AVX512-BF16)");
    }

    [Fact]
    public void The_preprocessing_read_from_its_graph_matches_onnx_runtime()
    {
        var preprocessing = ImagePreprocessing.FromOnnx(PretrainedModels.ResNet18PreprocessPath());
        Assert.Equal(255, preprocessing.Scale);
        Assert.Equal(new long[] { 2, 1, 0 }, preprocessing.ChannelOrder);       // RGB in, BGR to the model
        Assert.All(preprocessing.Mean, m => Assert.InRange(m, 90, 140));        // ImageNet means in 0..255

        var images = Images().narrow(0, 4, 2);
        using var session = new InferenceSession(PretrainedModels.ResNet18PreprocessPath());
        for (int i = 0; i < 2; i++)
        {
            var input = new DenseTensor((images[i] * 255).contiguous().data<float>().ToArray(), new[] { 1, 3, 224, 224 });
            using var result = session.Run(new[] { NamedOnnxValue.CreateFromTensor("OriginalInput", input) });
            var expected = tensor(result.First().AsTensor<float>().ToArray()).reshape(1, 3, 224, 224);
            var ours = preprocessing.call(images[i].unsqueeze(0));
            double difference = (ours - expected).abs().max().item<float>() / expected.abs().max().item<float>();
            Assert.True(difference < 1e-4, $"image {i}: relative difference {difference:E2}");
        }
    }

    [Fact]
    public void Names_trace_back_to_the_onnx_nodes_and_initializers()
    {
        var graph = Backbone.Value.Graph;
        Assert.Equal("Parameter91", graph.SourceNames["Convolution249.weight"]);
        Assert.Contains("BatchNormalization251.running_var", graph.state_dict().Keys);
        Assert.Equal(22, graph.Ops.Count(op => op == "Conv"));
        Assert.Equal(22 + 22, Backbone.Value.Units().Count);
    }

    [Fact]
    public void An_input_size_the_graph_cannot_take_says_what_it_expects()
    {
        var error = Assert.Throws<ArgumentException>(() => Backbone.Value.Graph.call(zeros(1, 3, 64, 64)));
        Assert.Contains("ResNet18.onnx expects input [N,3,224,224] (graph input \"Input247\"), got [1,3,64,64]", error.Message);
        Assert.Contains("--image-size 224", error.Message);
    }
}
