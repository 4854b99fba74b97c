using System.Text.Json;
using MixFit.Applications;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Tests.Applications;

public sealed class TransferModelTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-tl-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    [Theory]
    [InlineData(BackboneKind.ResNet18, "resnet18", 120)]
    [InlineData(BackboneKind.ResNet34, "resnet34", 216)]
    [InlineData(BackboneKind.ResNet50, "resnet50", 318)]
    [InlineData(BackboneKind.ResNet101, "resnet101", 624)]
    [InlineData(BackboneKind.MobileNetV2, "mobilenet_v2", 312)]
    [InlineData(BackboneKind.MobileNetV3Small, "mobilenet_v3_small", 240)]
    [InlineData(BackboneKind.MobileNetV3Large, "mobilenet_v3_large", 308)]
    public void Every_backbone_has_torchvisions_parameter_names_and_shapes(BackboneKind kind, string torchvisionName, int headless)
    {
        // The key lists were written by torchvision 0.14 itself (tools/make-fixtures.py); the headless backbone has
        // everything but the classifier (fc.* for ResNets, classifier.* for MobileNets).
        var expected = JsonSerializer.Deserialize<List<List<JsonElement>>>(File.ReadAllText(Fixture($"{torchvisionName}-state-dict.json")))!
            .Select(e => (Name: e[0].GetString()!, Shape: e[1].EnumerateArray().Select(d => d.GetInt64()).ToArray()))
            .Where(e => !e.Name.StartsWith("fc.", StringComparison.Ordinal) && !e.Name.StartsWith("classifier.", StringComparison.Ordinal))
            .ToList();

        // TorchSharp lists parameters before buffers; PyTorch interleaves them per module. Names and shapes must match.
        var actual = Backbone.Create(kind).state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        Assert.Equal(expected.Select(e => e.Name).Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        Assert.All(expected, e => Assert.Equal(e.Shape, actual[e.Name]));
        Assert.Equal(headless, actual.Count);
    }

    [Theory]
    [InlineData(BackboneKind.ResNet18, 512)]
    [InlineData(BackboneKind.MobileNetV2, 1280)]
    [InlineData(BackboneKind.MobileNetV3Small, 576)]
    public void Headless_backbones_pool_to_their_feature_width(BackboneKind kind, long features)
    {
        var backbone = Backbone.Create(kind);
        backbone.eval();
        Assert.Equal(new long[] { 2, features }, backbone.call(randn(2, 3, 64, 64)).shape);
        var maps = Backbone.Create(kind, Pooling.None);
        maps.eval();
        Assert.Equal(4, maps.call(randn(1, 3, 64, 64)).dim());
    }

    private static nn.Module<Tensor, Tensor> Tiny() => nn.Sequential(
        ("0", nn.Conv2d(3, 4, 3, padding: 1)), ("1", nn.BatchNorm2d(4)), ("2", nn.ReLU()),
        ("3", nn.AdaptiveAvgPool2d(1)), ("4", nn.Flatten()), ("5", nn.Linear(4, 3)));

    [Theory]
    [InlineData("tiny.pt", 1e-5)]
    [InlineData("tiny.safetensors", 1e-5)]
    [InlineData("tiny-bf16.safetensors", 5e-2)]
    public void State_dicts_written_by_pytorch_reproduce_its_output(string file, double tolerance)
    {
        var model = Tiny();
        var report = WeightLoader.Load(model, Fixture(file));
        Assert.True(report.IsComplete, report.ToString());
        Assert.Equal(ScalarType.Float32, model.state_dict()["0.weight"].dtype);
        model.eval();
        var expected = JsonDocument.Parse(File.ReadAllText(Fixture("tiny-output.json"))).RootElement.GetProperty("output").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        var x = linspace(-1, 1, 150).reshape(2, 3, 5, 5);
        T.Close(expected, model.call(x), tolerance);
    }

    [Fact]
    public void Strict_loading_reports_every_missing_unexpected_and_mis_shaped_key()
    {
        // The file (PyTorch's tiny net) has 0.*, 1.* (BatchNorm) and 5.*; this module has no 1, a wider 5 and an extra 9.
        var model = nn.Sequential(("0", nn.Conv2d(3, 4, 3, padding: 1)), ("5", nn.Linear(4, 7)), ("9", nn.Linear(2, 2)));
        var e = Assert.Throws<InvalidDataException>(() => WeightLoader.Load(model, Fixture("tiny.pt")));
        Assert.Contains("tiny.pt", e.Message);
        Assert.Contains("missing: 9.weight", e.Message);
        Assert.Contains("unexpected: 1.running_mean", e.Message);
        Assert.Contains("shape mismatch: 5.weight: file [3,4] vs module [7,4]", e.Message);

        var lenient = WeightLoader.Load(model, Fixture("tiny.pt"), new WeightLoadOptions { Strict = false });
        Assert.Equal(new[] { "0.bias", "0.weight" }, lenient.Loaded.Order(StringComparer.Ordinal));
        Assert.Equal(new[] { "9.bias", "9.weight" }, lenient.Missing.Order(StringComparer.Ordinal));
        Assert.Equal(
            new[] { "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight" },
            lenient.Unexpected.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_classifier_can_be_skipped_to_put_a_new_head_on_a_pretrained_base()
    {
        string path = Path.Combine(dir, "resnet18.safetensors");
        var source = torchvision.models.resnet18(num_classes: 1000);
        MixFit.Checkpoints.SafeTensors.Save(path, source.state_dict());
        var model = TransferModel.Create(BackboneKind.ResNet18, classes: 5);
        var report = WeightLoader.Load(model.Base, path, new WeightLoadOptions { SkipClassifier = true });
        Assert.Equal(new[] { "fc.bias", "fc.weight" }, report.Skipped);
        Assert.True(report.IsComplete);
        Assert.True(model.Base.state_dict()["layer4.1.bn2.running_var"].Equals(source.state_dict()["layer4.1.bn2.running_var"]));
    }

    [Theory]
    [InlineData("float32")]
    [InlineData("mixed_bfloat16")]
    public void A_frozen_base_stays_bit_identical_while_the_head_trains(string policy)
    {
        manual_seed(1);
        var model = TransferModel.Create(BackboneKind.ResNet18, classes: 3, baseTrainable: false, softmax: false);
        var before = model.Base.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var headBefore = model.Head.weight!.clone();
        using var trainer = new Trainer(model, CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Parse(policy), ModuleOverrides = model.PrecisionOverrides });
        Assert.All(trainer.Precision.ParameterNames, n => Assert.StartsWith("head.", n));
        Assert.Equal(2, ((Adam)trainer.Optimizer!).StateDict().Count(kv => kv.Key.EndsWith(".exp_avg", StringComparison.Ordinal)));
        trainer.Fit(randn(8, 3, 64, 64), randint(0, 3, new long[] { 8 }), new FitOptions { Epochs = 2, BatchSize = 4, Verbose = 0 });

        var weights = trainer.GetWeights();
        foreach (var (name, value) in before)
        {
            Assert.True(value.Equals(weights["base." + name]), $"base.{name} changed");
        }

        Assert.False(headBefore.Equals(weights["head.weight"]));
        Assert.True(model.training);
        Assert.All(model.Base.named_modules().Where(m => m.module is TorchSharp.Modules.BatchNorm2d), m => Assert.False(m.module.training, $"{m.name} is in train mode"));
    }

    [Theory]
    [InlineData("mixed_float16")]
    [InlineData("mixed_bfloat16")]
    public void Mixed_head_training_on_a_frozen_resnet18_keeps_float32_masters_and_outputs(string policy)
    {
        var model = TransferModel.Create(BackboneKind.ResNet18, classes: 4, baseTrainable: false, softmax: true);
        using var trainer = new Trainer(model, CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Parse(policy), ModuleOverrides = model.PrecisionOverrides, Loss = "sparse_categorical_crossentropy", FromLogits = false });
        Assert.Equal(DTypePolicy.Parse(policy).ComputeDType, model.Base.state_dict()["conv1.weight"].dtype);
        Assert.Equal(ScalarType.Float32, model.Head.weight!.dtype);
        Assert.All(trainer.Precision.Parameters, p => Assert.Equal(ScalarType.Float32, p.dtype));
        var history = trainer.Fit(randn(6, 3, 64, 64), randint(0, 4, new long[] { 6 }), new FitOptions { Epochs = 1, BatchSize = 3, Verbose = 0 });
        Assert.True(double.IsFinite(history["loss"][0]));
        var probabilities = trainer.Predict(randn(2, 3, 64, 64));
        Assert.Equal(ScalarType.Float32, probabilities.dtype);
        T.Close(new float[] { 1, 1 }, probabilities.sum(1), 1e-5);
    }

    [Fact]
    public void Unfreezing_the_top_block_trains_it_at_a_lower_learning_rate()
    {
        var model = TransferModel.Create(BackboneKind.ResNet18, classes: 3, baseTrainable: false, softmax: false);
        using var trainer = new Trainer(model, CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16, ModuleOverrides = model.PrecisionOverrides });
        Assert.Equal(2, trainer.Precision.Parameters.Count);

        model.UnfreezeTop(1);
        trainer.Compile(new CompileOptions
        {
            Policy = DTypePolicy.MixedBFloat16, ModuleOverrides = model.PrecisionOverrides,
            LearningRateScales = new Dictionary<string, double> { ["base"] = 0.1 },
        });
        var names = trainer.Precision.ParameterNames;
        Assert.Contains("base.layer4.1.conv2.weight", names);
        Assert.DoesNotContain(names, n => n.StartsWith("base.layer3", StringComparison.Ordinal));
        var scales = trainer.Optimizer!.LearningRateScales;
        Assert.Equal(0.1, scales[names.ToList().IndexOf("base.layer4.0.conv1.weight")]);
        Assert.Equal(1.0, scales[names.ToList().IndexOf("head.weight")]);

        var layer3 = model.Base.state_dict()["layer3.0.conv1.weight"].clone();
        var layer4 = trainer.GetWeights()["base.layer4.0.conv1.weight"];
        trainer.Fit(randn(4, 3, 64, 64), randint(0, 3, new long[] { 4 }), new FitOptions { BatchSize = 4, Verbose = 0 });
        Assert.True(layer3.Equals(model.Base.state_dict()["layer3.0.conv1.weight"]));
        Assert.False(layer4.Equals(trainer.GetWeights()["base.layer4.0.conv1.weight"]));
    }

    [Fact]
    public void Defaults_agree_and_a_softmax_compiled_from_logits_is_warned_about_once()
    {
        var logits = TransferModel.Create(BackboneKind.ResNet18, classes: 3);
        Assert.False(logits.Softmax);
        using (var trainer = new Trainer(logits, CPU))
        {
            trainer.Compile(new CompileOptions { ModuleOverrides = logits.PrecisionOverrides });
            Assert.Empty(trainer.Warnings);
        }

        var softmax = TransferModel.Create(BackboneKind.ResNet18, classes: 3, softmax: true);
        using var mismatched = new Trainer(softmax, CPU);
        mismatched.Compile(new CompileOptions { ModuleOverrides = softmax.PrecisionOverrides });
        mismatched.Compile(new CompileOptions { ModuleOverrides = softmax.PrecisionOverrides });
        Assert.Contains("FromLogits = true", Assert.Single(mismatched.Warnings));
        mismatched.Compile(new CompileOptions { ModuleOverrides = softmax.PrecisionOverrides, FromLogits = false });
        Assert.Single(mismatched.Warnings);
    }

    [Fact]
    public void Key_prefixes_map_a_torchvision_file_onto_a_whole_transfer_model()
    {
        string path = Path.Combine(dir, "resnet18-full.safetensors");
        var source = torchvision.models.resnet18(num_classes: 7);
        MixFit.Checkpoints.SafeTensors.Save(path, source.state_dict());
        var model = TransferModel.Create(BackboneKind.ResNet18, classes: 7);
        var report = WeightLoader.Load(model, path, new WeightLoadOptions { KeyPrefixes = new Dictionary<string, string> { ["fc."] = "head.", [""] = "base." } });
        Assert.True(report.IsComplete, report.ToString());
        Assert.True(model.Head.weight!.Equals(source.state_dict()["fc.weight"]));
        Assert.True(model.state_dict()["base.layer4.1.bn2.running_var"].Equals(source.state_dict()["layer4.1.bn2.running_var"]));
    }
}
