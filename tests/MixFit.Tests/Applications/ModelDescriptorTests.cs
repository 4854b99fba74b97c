using MixFit.Applications;
using MixFit.Precision;
using static TorchSharp.torch;

namespace MixFit.Tests.Applications;

public class ModelDescriptorTests
{
    [Fact]
    public void Every_backbone_the_library_has_is_a_model_name()
    {
        var backbones = ModelDescriptor.All.Where(m => m.Backbone is not null).Select(m => m.Backbone!.Value).ToArray();
        Assert.Equal(Enum.GetValues<BackboneKind>().OrderBy(k => k), backbones.OrderBy(k => k));
        Assert.Equal("small-cnn", ModelDescriptor.All[0].Name);
        Assert.Equal(new[] { "small-cnn", "resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large" }, ModelDescriptor.Names);
    }

    [Theory]
    [InlineData("small-cnn", 1, 28)]
    [InlineData("resnet18", 3, 64)]
    [InlineData("mobilenet_v3_small", 3, 64)]
    public void A_descriptor_knows_its_input_and_builds_logits_with_a_float32_output_layer(string name, int channels, int size)
    {
        var model = ModelDescriptor.Parse(name);
        Assert.Equal(size, model.DefaultImageSize);
        Assert.Equal(channels, model.ChannelsFor(1));
        manual_seed(1);
        var built = model.Build(classes: 5, channels, size);
        Assert.All(built.PrecisionOverrides.Values, p => Assert.Equal(DTypePolicy.Float32, p));
        Assert.Equal(built.Transfer is not null, model.Backbone is not null);
        built.Module.eval();
        using var x = rand(2, channels, size, size);
        using var y = built.Module.call(x);
        Assert.Equal(new long[] { 2, 5 }, y.shape);
    }

    [Fact]
    public void Unknown_names_and_wrong_channels_are_refused_saying_what_is_valid()
    {
        var unknown = Assert.Throws<ArgumentException>(() => ModelDescriptor.Parse("vgg16"));
        Assert.Contains("vgg16", unknown.Message);
        Assert.Contains("mobilenet_v3_large", unknown.Message);
        var channels = Assert.Throws<ArgumentException>(() => ModelDescriptor.Parse("resnet18").Build(10, 1, 64));
        Assert.Contains("3-channel", channels.Message);
    }

    [Fact]
    public void Built_in_imagenet_weights_are_refused_for_other_models_and_input_sizes()
    {
        var other = Assert.Throws<ArgumentException>(() => ModelDescriptor.Parse("resnet50").BuiltInBase("imagenet", 3, 224));
        Assert.Contains("for resnet50 pass a weights file", other.Message);
        var size = Assert.Throws<ArgumentException>(() => ModelDescriptor.Parse("resnet18").BuiltInBase("imagenet", 3, 64));
        Assert.Contains("got 3x64x64: use --image-size 224", size.Message);
        var grey = Assert.Throws<ArgumentException>(() => ModelDescriptor.Parse("resnet18").Build(10, 1, 224, true, "imagenet"));
        Assert.Contains("got 1x224x224", grey.Message);
        Assert.IsType<OnnxBackbone>(ModelDescriptor.Parse("resnet18").BuiltInBase("imagenet", 3, 224));
    }
}
