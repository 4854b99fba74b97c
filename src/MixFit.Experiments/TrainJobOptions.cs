using MixFit.Applications;
using MixFit.Optimizers;
using MixFit.Precision;

namespace MixFit.Experiments;

/// <summary>
/// Every knob of one training run (the CLI's <c>mixfit train</c>), as typed values: the CLI parses each option once
/// into these, and the defaults here are the only ones (the CLI shows them in <c>--help</c>).
/// </summary>
public sealed record TrainJobOptions
{
    private static readonly string[] DefaultMetrics = { "accuracy" };

    /// <summary><c>fashion-mnist</c> or a folder with <c>train.csv</c> and <c>images/</c>. Default <c>fashion-mnist</c>.</summary>
    public string Data { get; init; } = "fashion-mnist";

    /// <summary>A JSON label map for folder data; default: the folder's <c>label_map.json</c> or the CSV's values.</summary>
    public string? LabelMap { get; init; }

    /// <summary>The model. Default the small CNN.</summary>
    public ModelDescriptor Model { get; init; } = ModelDescriptor.SmallCnn;

    /// <summary>Pretrained weights: a file (a backbone's classifier is skipped), or <c>imagenet</c> for resnet18 (ML.NET's ImageNet ResNet18 from NuGet, imported from ONNX).</summary>
    public string? Weights { get; init; }

    /// <summary>Freeze the backbone and train only the head.</summary>
    public bool FreezeBase { get; init; }

    /// <summary>The precision policy. Default float32.</summary>
    public DTypePolicy Policy { get; init; } = DTypePolicy.Float32;

    /// <summary>Loss scaling, or null for the policy's default (dynamic for mixed_float16, none otherwise).</summary>
    public LossScaleOptions? LossScale { get; init; }

    /// <summary>Epochs. Default 3.</summary>
    public int Epochs { get; init; } = 3;

    /// <summary>Batch size. Default 128.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>The optimizer and its learning rate. Default adam at 1e-3.</summary>
    public OptimizerConfig Optimizer { get; init; } = new();

    /// <summary>The metrics logged beside the loss (Keras names: accuracy, precision, recall, auc, ...). Default accuracy.</summary>
    public IReadOnlyList<string> Metrics { get; init; } = DefaultMetrics;

    /// <summary>Class weights for the training loss and metrics, or null for none.</summary>
    public ClassWeights? ClassWeight { get; init; }

    /// <summary>Input size in pixels; null: the model's default (28 for the small CNN, 64 for backbones).</summary>
    public int? ImageSize { get; init; }

    /// <summary>Fraction of the training data held out for validation. Default 0.1.</summary>
    public double ValidationSplit { get; init; } = 0.1;

    /// <summary>Seed of initial weights, data order and augmentation. Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Where to train. Default auto.</summary>
    public DeviceChoice Device { get; init; } = DeviceChoice.Auto;

    /// <summary>The tracked run's name; default: model and policy.</summary>
    public string? RunName { get; init; }

    /// <summary>Tags for the tracked run.</summary>
    public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();

    /// <summary>Folder for <c>last.ckpt.safetensors</c> (every epoch) and <c>mixfit-model.json</c>.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Continue from the checkpoint in <see cref="CheckpointDirectory"/>.</summary>
    public bool Resume { get; init; }

    /// <summary>The run store folder; null: the default.</summary>
    public string? Store { get; init; }

    /// <summary>Use only the first N training images (quick runs, tests).</summary>
    public int? Limit { get; init; }

    /// <summary>Values added to the tracked run's summary at the end (e.g. <c>probe_ms_per_step</c> from <c>compare</c>).</summary>
    public IReadOnlyDictionary<string, double> ExtraSummary { get; init; } = System.Collections.Immutable.ImmutableDictionary<string, double>.Empty;

    /// <summary>0 silent, 1 progress bar, 2 one line per epoch. Default 1.</summary>
    public int Verbose { get; init; } = 1;

    /// <summary>The input size these options resolve to.</summary>
    public int ResolvedImageSize => ImageSize ?? Model.ImageSizeFor(Weights) ?? Model.DefaultImageSize;

    /// <summary>The built-in pretrained weights named by <see cref="Weights"/> (<c>imagenet</c>), or null when it is a file or absent.</summary>
    public string? BuiltInWeights => ModelDescriptor.IsBuiltInWeights(Weights) ? ModelDescriptor.ImageNet : null;

    /// <summary>The run name these options resolve to.</summary>
    public string ResolvedRunName => RunName ?? $"{Model.Name}-{Policy.Name}";
}
