namespace MixFit.Experiments;

/// <summary>Every knob of one training run (the CLI's <c>mixfit train</c>).</summary>
public sealed record TrainJobOptions
{
    /// <summary><c>fashion-mnist</c> or a folder with <c>train.csv</c> and <c>images/</c>.</summary>
    public string Data { get; init; } = "fashion-mnist";

    /// <summary>A JSON label map for folder data; default: the folder's <c>label_map.json</c> or the CSV's values.</summary>
    public string? LabelMap { get; init; }

    /// <summary><c>small-cnn</c>, <c>resnet18</c>, <c>resnet50</c> or <c>mobilenet_v2</c>.</summary>
    public string Model { get; init; } = "small-cnn";

    /// <summary>Pretrained weights for the model (a backbone's classifier is skipped).</summary>
    public string? Weights { get; init; }

    /// <summary>Freeze the backbone and train only the head.</summary>
    public bool FreezeBase { get; init; }

    /// <summary>The precision policy name.</summary>
    public string Policy { get; init; } = "float32";

    /// <summary><c>dynamic</c>, <c>none</c>, a number, or null for the policy's default.</summary>
    public string? LossScale { get; init; }

    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 3;

    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary><c>adam</c>, <c>adamw</c>, <c>sgd</c> or <c>rmsprop</c>.</summary>
    public string Optimizer { get; init; } = "adam";

    /// <summary>Input size in pixels; null: 28 for the small CNN, 64 for backbones.</summary>
    public int? ImageSize { get; init; }

    /// <summary>Fraction of the training data held out for validation.</summary>
    public double ValidationSplit { get; init; } = 0.1;

    /// <summary>Seed of initial weights, data order and augmentation.</summary>
    public int Seed { get; init; } = 42;

    /// <summary><c>cpu</c>, <c>cuda</c> or <c>auto</c>.</summary>
    public string Device { get; init; } = "auto";

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

    /// <summary>0 silent, 1 progress bar, 2 one line per epoch.</summary>
    public int Verbose { get; init; } = 1;

    /// <summary>The input size these options resolve to.</summary>
    public int ResolvedImageSize => ImageSize ?? (Model == "small-cnn" ? 28 : 64);
}
