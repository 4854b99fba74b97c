using System.Text.Json;
using MixFit.Applications;
using MixFit.Data;
using MixFit.Precision;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Experiments;

/// <summary>
/// What is needed to rebuild a trained model for prediction: architecture, classes, input size and channels, and the
/// label map. Saved as <c>mixfit-model.json</c> beside checkpoints.
/// </summary>
public sealed record ModelSpec(string Model, int Classes, int Channels, int ImageSize, string Policy, IReadOnlyList<string> CategoryIds, IReadOnlyList<string> CategoryNames)
{
    /// <summary>The file name of the spec beside checkpoints.</summary>
    public const string FileName = "mixfit-model.json";

    /// <summary>The valid model names.</summary>
    public static IReadOnlyList<string> Models { get; } = new[] { "small-cnn", "resnet18", "resnet50", "mobilenet_v2" };

    /// <summary>The label map the spec holds.</summary>
    public LabelMap LabelMap => new(CategoryIds.Zip(CategoryNames));

    /// <summary>Checks a model name.</summary>
    /// <exception cref="ArgumentException">Unknown; the message lists the valid names.</exception>
    public static string ValidateModel(string name) => Models.Contains(name)
        ? name
        : throw new ArgumentException($"Unknown model \"{name}\". Valid models: {string.Join(", ", Models)}.", nameof(name));

    /// <summary>Input channels a model needs for data with <paramref name="dataChannels"/> channels (pretrained backbones need RGB).</summary>
    public static int ChannelsFor(string model, int dataChannels) => model == "small-cnn" ? dataChannels : 3;

    /// <summary>Builds the untrained model and the policy overrides that keep its output layer in float32.</summary>
    public (nn.Module<Tensor, Tensor> Module, IReadOnlyDictionary<string, DTypePolicy> Overrides, TransferModel? Transfer) Build(bool baseTrainable = true)
    {
        if (Model == "small-cnn")
        {
            return (SmallCnn.Create(Classes, Channels, ImageSize), new Dictionary<string, DTypePolicy> { ["fc2"] = DTypePolicy.Float32 }, null);
        }

        var kind = Model switch
        {
            "resnet18" => BackboneKind.ResNet18,
            "resnet50" => BackboneKind.ResNet50,
            "mobilenet_v2" => BackboneKind.MobileNetV2,
            _ => throw new ArgumentException($"Unknown model \"{Model}\". Valid models: {string.Join(", ", Models)}."),
        };
        var transfer = TransferModel.Create(kind, Classes, baseTrainable, softmax: false);
        return (transfer, transfer.PrecisionOverrides, transfer);
    }

    /// <summary>Writes the spec into <paramref name="directory"/>.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));
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

        return JsonSerializer.Deserialize<ModelSpec>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty model spec.");
    }
}
