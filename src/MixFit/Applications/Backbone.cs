using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Applications;

/// <summary>
/// A headless TorchVision backbone (Keras' <c>include_top=False</c>): the convolutional trunk with torchvision's
/// parameter names (so torchvision state dicts load as they are), followed by the chosen global pooling.
/// </summary>
/// <remarks>
/// Blocks are the units <see cref="TransferModel.UnfreezeTop"/> counts from the top: <c>layer1</c>..<c>layer4</c>
/// (and the stem) for ResNets, <c>features.0</c>..<c>features.N</c> for MobileNets.
/// </remarks>
public sealed class Backbone : FeatureExtractor
{
    private static readonly string[] ResNetStem = { "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4" };
    // Plain lists, not module fields: TorchSharp registers Module-typed fields by their field name, which would add a
    // second "trunk." copy of every parameter name. The blocks are registered below under torchvision's names.
    private readonly List<(string Name, nn.Module<Tensor, Tensor> Module)> blocks;
    private readonly List<nn.Module<Tensor, Tensor>> pool = new();

    private Backbone(BackboneKind kind, Sequential trunk, long features, Pooling pooling)
        : base($"Backbone({kind})")
    {
        Kind = kind;
        Features = features;
        PoolingMode = pooling;
        blocks = trunk.named_children().Select(c => (c.name, (nn.Module<Tensor, Tensor>)c.module)).ToList();

        // Registered without a prefix so parameter names are torchvision's: conv1.weight, layer4.2.bn3.running_var, features.0.0.weight.
        foreach (var (name, child) in blocks)
        {
            register_module(name, child);
        }

        switch (pooling)
        {
            case Pooling.Average:
                pool.Add(nn.AdaptiveAvgPool2d(1));
                break;
            case Pooling.Max:
                pool.Add(nn.AdaptiveMaxPool2d(new long[] { 1, 1 }));
                break;
        }

        if (pool.Count > 0)
        {
            pool.Add(nn.Flatten());
            register_module("pool", pool[0]);
            register_module("flatten", pool[1]);
        }
    }

    /// <summary>The architecture.</summary>
    public BackboneKind Kind { get; }

    /// <summary>Channels of the last feature maps (= the pooled vector's length).</summary>
    public override long Features { get; }

    /// <summary>The pooling applied.</summary>
    public Pooling PoolingMode { get; }

    /// <summary>The trunk's blocks from the input to the output, as module paths.</summary>
    public IReadOnlyList<string> Blocks => blocks.Select(b => b.Name).ToArray();

    /// <summary>Builds a headless backbone with freshly initialised weights (load pretrained ones with <see cref="WeightLoader"/>).</summary>
    public static Backbone Create(BackboneKind kind, Pooling pooling = Pooling.Average)
    {
        switch (kind)
        {
            case BackboneKind.ResNet18 or BackboneKind.ResNet34 or BackboneKind.ResNet50 or BackboneKind.ResNet101:
                var resnet = kind switch
                {
                    BackboneKind.ResNet18 => torchvision.models.resnet18(),
                    BackboneKind.ResNet34 => torchvision.models.resnet34(),
                    BackboneKind.ResNet50 => torchvision.models.resnet50(),
                    _ => torchvision.models.resnet101(),
                };
                var children = resnet.named_children().ToDictionary(c => c.name, c => c.module);
                var trunk = nn.Sequential(ResNetStem.Select(n => (n, (nn.Module<Tensor, Tensor>)children[n])).ToArray());
                return new Backbone(kind, trunk, kind is BackboneKind.ResNet18 or BackboneKind.ResNet34 ? 512 : 2048, pooling);
            case BackboneKind.MobileNetV2:
                return FromFeatures(kind, torchvision.models.mobilenet_v2().named_children(), 1280, pooling);
            case BackboneKind.MobileNetV3Small:
                return FromFeatures(kind, torchvision.models.mobilenet_v3_small().named_children(), 576, pooling);
            default:
                return FromFeatures(kind, torchvision.models.mobilenet_v3_large().named_children(), 960, pooling);
        }
    }

    /// <summary>The stem layers and <c>layer1</c>..<c>layer4</c> for ResNets, <c>features.0</c>..<c>features.N</c> for MobileNets.</summary>
    public override IReadOnlyList<nn.Module> Units()
    {
        var units = new List<nn.Module>();
        foreach (var (name, child) in blocks)
        {
            if (name == "features")
            {
                units.AddRange(child.named_children().Select(c => c.module));
            }
            else
            {
                units.Add(child);
            }
        }

        return units;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        // Like Sequential: dispose intermediates as soon as the next block has consumed them, never the caller's input.
        var x = input;
        foreach (var (_, block) in blocks.Concat(pool.Select(p => ("", p))))
        {
            var next = block.call(x);
            if (!ReferenceEquals(x, input) && !ReferenceEquals(x, next))
            {
                x.Dispose();
            }

            x = next;
        }

        return x;
    }

    private static Backbone FromFeatures(BackboneKind kind, IEnumerable<(string name, nn.Module module)> children, long features, Pooling pooling)
    {
        var blocks = (Sequential)children.Single(c => c.name == "features").module;
        var trunk = nn.Sequential(("features", (nn.Module<Tensor, Tensor>)blocks));
        return new Backbone(kind, trunk, features, pooling);
    }
}
