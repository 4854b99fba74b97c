using System.Text.Json;
using MixFit.Applications;
using MixFit.Data;

namespace MixFit.Experiments;

/// <summary>
/// What is needed to rebuild a trained model for prediction: architecture, classes, input size and channels, and the
/// label map. Saved as <c>mixfit-model.json</c> beside checkpoints.
/// </summary>
/// <param name="Model">The model's name (<see cref="ModelDescriptor.Name"/>).</param>
/// <param name="Classes">Output classes.</param>
/// <param name="Channels">Input channels.</param>
/// <param name="ImageSize">Input size in pixels.</param>
/// <param name="Policy">The precision policy it trained under.</param>
/// <param name="CategoryIds">The category id of each class index.</param>
/// <param name="CategoryNames">The category name of each class index.</param>
/// <param name="BuiltInWeights">The built-in pretrained model it started from (<c>imagenet</c>: the architecture is the imported ONNX graph), or null.</param>
/// <param name="PixelMean">The per-channel means training subtracted from [0, 1] pixels (null in specs written before it was recorded).</param>
/// <param name="PixelStd">The per-channel stds training divided by.</param>
public sealed record ModelSpec(string Model, int Classes, int Channels, int ImageSize, string Policy, IReadOnlyList<string> CategoryIds, IReadOnlyList<string> CategoryNames, string? BuiltInWeights = null,
    IReadOnlyList<float>? PixelMean = null, IReadOnlyList<float>? PixelStd = null)
{
    /// <summary>The file name of the spec beside checkpoints.</summary>
    public const string FileName = "mixfit-model.json";

    /// <summary>The label map the spec holds.</summary>
    public LabelMap LabelMap => new(CategoryIds.Zip(CategoryNames));

    /// <summary>Builds the untrained model and the policy overrides that keep its output layer in float32.</summary>
    /// <exception cref="ArgumentException">The spec names an unknown model.</exception>
    public BuiltModel Build(bool baseTrainable = true) => ModelDescriptor.Parse(Model).Build(Classes, Channels, ImageSize, baseTrainable, BuiltInWeights);

    /// <summary>How images are normalised for this model: as recorded at training; for older specs [0, 1] for the imported ImageNet graph (it brings its own preprocessing), else the pipeline's default.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public PixelNormalization? Normalization =>
        PixelMean is { } mean && PixelStd is { } std ? new PixelNormalization(mean, std) : BuiltInWeights is null ? null : PixelNormalization.UnitRange;

    /// <summary>Writes the spec into <paramref name="directory"/>.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The trained model of <paramref name="checkpoint"/>: its spec (beside it), the model rebuilt from it, the checkpoint's weights loaded.</summary>
    /// <exception cref="FileNotFoundException">The checkpoint or its spec is missing.</exception>
    public static (ModelSpec Spec, BuiltModel Model) LoadTrained(string checkpoint)
    {
        if (!File.Exists(checkpoint))
        {
            throw new FileNotFoundException($"Checkpoint not found: {checkpoint}", checkpoint);
        }

        var spec = LoadBeside(checkpoint);
        var model = spec.Build();
        WeightLoader.Load(model.Module, checkpoint);
        return (spec, model);
    }

    /// <summary>Reads the spec beside <paramref name="checkpoint"/>.</summary>
    /// <exception cref="FileNotFoundException">No spec there; the message says what is expected.</exception>
    public static ModelSpec LoadBeside(string checkpoint)
    {
        string path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpoint))!, FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} not found: predict needs the {FileName} that `mixfit train --checkpoint-dir` writes beside its checkpoints.", path);
        }

        try
        {
            var spec = JsonSerializer.Deserialize<ModelSpec>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty model spec.");
            return spec.Model is null || spec.CategoryIds is null || spec.CategoryNames is null || spec.Classes < 1 || spec.Channels < 1 || spec.ImageSize < 1
                ? throw new InvalidDataException($"{path}: incomplete model spec (model, classes, channels, image size and categories are all needed).")
                : spec;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid {FileName} ({e.Message}).", e);
        }
    }
}
