using MixFit.Precision;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Applications;

/// <summary>
/// The article's model in one call: a headless backbone, global pooling, and a dense head whose output is float32
/// under every policy (softmax computed in float32, or plain float32 logits for a from-logits loss).
/// </summary>
/// <remarks>
/// <para>Freezing follows Keras: with <see cref="BaseTrainable"/> false the base's parameters get no gradients and no
/// optimizer state, and its BatchNorm layers run in inference mode even while the model trains. Unfreeze the top
/// blocks for fine-tuning with <see cref="UnfreezeTop"/>, then compile again (optionally with a lower learning rate for
/// the base through <c>CompileOptions.LearningRateScales</c>).</para>
/// <para>Pass <see cref="PrecisionOverrides"/> to <c>CompileOptions.ModuleOverrides</c> (the builder's callers do) to keep
/// the head in float32.</para>
/// </remarks>
/// <example><code>
/// var model = TransferModel.Create(BackboneKind.ResNet50, classes: 5, baseTrainable: false);
/// WeightLoader.Load(model.Base, "resnet50.safetensors", new WeightLoadOptions { SkipClassifier = true });
/// trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, ModuleOverrides = model.PrecisionOverrides });
/// </code></example>
public sealed class TransferModel : nn.Module<Tensor, Tensor>
{
    private readonly FeatureExtractor @base;
    private readonly Linear head;
    private bool baseTrainable = true;

    private TransferModel(FeatureExtractor backbone, int classes, bool softmax)
        : base($"TransferModel({(backbone is Backbone b ? b.Kind.ToString() : backbone.GetName())})")
    {
        @base = backbone;
        head = nn.Linear(backbone.Features, classes);
        Softmax = softmax;
        register_module("base", @base);
        register_module("head", head);
    }

    /// <summary>The base (for TorchVision backbones parameter names are torchvision's, under <c>base.</c> in this model).</summary>
    public FeatureExtractor Base => @base;

    /// <summary>The classification head.</summary>
    public Linear Head => head;

    /// <summary>Whether the output is float32 probabilities (softmax) rather than float32 logits.</summary>
    public bool Softmax { get; }

    /// <summary>Per-module policy overrides that keep the head in float32.</summary>
    public IReadOnlyDictionary<string, DTypePolicy> PrecisionOverrides { get; } = new Dictionary<string, DTypePolicy> { ["head"] = DTypePolicy.Float32 };

    /// <summary>Whether the whole base trains. Setting it changes every base parameter's <c>requires_grad</c>; compile again afterwards.</summary>
    public bool BaseTrainable
    {
        get => baseTrainable;
        set
        {
            baseTrainable = value;
            foreach (var p in @base.parameters())
            {
                p.requires_grad = value;
            }

            train(training);
        }
    }

    /// <summary>
    /// Keras' <c>create_model</c>: <paramref name="kind"/> without its top, <paramref name="pooling"/>, and a dense head of
    /// <paramref name="classes"/>. Outputs logits by default, which is what <c>CompileOptions.FromLogits</c> (default
    /// true) expects; <paramref name="softmax"/> true gives the article's softmax probabilities (compile them with
    /// <c>FromLogits = false</c>; <c>Compile</c> warns when the two disagree).
    /// </summary>
    public static TransferModel Create(BackboneKind kind, int classes, bool baseTrainable = true, Pooling pooling = Pooling.Average, bool softmax = false)
    {
        if (classes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(classes), classes, "A head needs at least one class.");
        }

        if (pooling == Pooling.None)
        {
            throw new ArgumentException("The transfer model's dense head needs a pooled feature vector: use Pooling.Average or Pooling.Max.", nameof(pooling));
        }

        return new TransferModel(Backbone.Create(kind, pooling), classes, softmax) { BaseTrainable = baseTrainable };
    }

    /// <summary>
    /// A transfer model over any <paramref name="featureExtractor"/>, e.g. an imported ONNX graph
    /// (<see cref="OnnxBackbone"/>): its features, then a dense head of <paramref name="classes"/> (logits by default).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than one class.</exception>
    public static TransferModel Create(FeatureExtractor featureExtractor, int classes, bool baseTrainable = true, bool softmax = false)
    {
        ArgumentNullException.ThrowIfNull(featureExtractor);
        if (classes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(classes), classes, "A head needs at least one class.");
        }

        return new TransferModel(featureExtractor, classes, softmax) { BaseTrainable = baseTrainable };
    }

    /// <summary>
    /// Makes the top <paramref name="blocks"/> blocks of the base trainable (counted from the output: <c>layer4</c> first for
    /// ResNets, the last <c>features.N</c> for MobileNets); everything below stays frozen. Compile again afterwards.
    /// </summary>
    public void UnfreezeTop(int blocks)
    {
        var units = BlockUnits();
        if (blocks < 0 || blocks > units.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(blocks), blocks, $"The base has {units.Count} blocks.");
        }

        baseTrainable = blocks == units.Count;
        for (int i = 0; i < units.Count; i++)
        {
            bool trainable = i >= units.Count - blocks;
            foreach (var p in units[i].parameters())
            {
                p.requires_grad = trainable;
            }
        }

        train(training);
    }

    /// <summary>Train or eval mode; frozen parts of the base always stay in eval mode (BatchNorm uses and keeps its running statistics).</summary>
    public override void train(bool on = true)
    {
        base.train(on);
        foreach (var unit in BlockUnits())
        {
            if (on && !unit.parameters().Any(p => p.requires_grad))
            {
                unit.eval();
            }
        }
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var logits = head.call(@base.call(input)).to(ScalarType.Float32);
        return Softmax ? logits.softmax(1) : logits;
    }

    private IReadOnlyList<nn.Module> BlockUnits() => @base.Units();
}
