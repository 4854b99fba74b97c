using System.CommandLine;
using MixFit.Applications;
using MixFit.Experiments;
using MixFit.Precision;

namespace MixFit.Cli;

/// <summary><c>mixfit embed</c>: pooled features of every image, as CSV or .npy.</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var defaults = new EmbedOptions { Data = "", Output = "" };
        var data = new Option<string>("--data") { Description = "A CSV with an image column, a folder with train.csv and images/, or a folder of image files.", Required = true };
        var images = new Option<string?>("--images") { Description = "The images folder of a CSV (default: images/ beside it)." };
        var output = new Option<string>("--out", "-o") { Description = "features.csv (image,f0,f1,...) or features.npy (float32 [images, features]; names in features.npy.images.txt).", Required = true };
        var model = TypedOption.Create("--model", $"The backbone: {string.Join(", ", ModelDescriptor.Names.Where(n => n != ModelDescriptor.SmallCnn.Name))}.", ModelDescriptor.Parse, defaults.Model.Name);
        var weights = TypedOption.Plain("--weights", "imagenet (ML.NET's ImageNet ResNet18 from NuGet, for resnet18) or a weights file.", defaults.Weights!);
        var onnx = new Option<string?>("--onnx") { Description = "Any ONNX CNN instead of --model: its (pooled) output is the feature vector; it gets [0, 1] RGB input." };
        var size = new Option<int?>("--image-size") { Description = "Input size in pixels. Default: the model's (224 for the ImageNet ResNet18)." };
        var batch = TypedOption.Plain("--batch-size", "Images per batch.", defaults.BatchSize);
        var policy = TypedOption.Create("--policy", $"{string.Join(", ", DTypePolicy.All.Select(p => p.Name))}.", DTypePolicy.Parse, defaults.Policy.Name);
        var device = TypedOption.Create("--device", "auto, cpu, cuda or cuda:N.", DeviceChoice.Parse, defaults.Device.Name);
        var command = new Command("embed", "Write the pooled features of every image (ML.NET's DnnImageFeaturizer job), e.g. from the ImageNet ResNet18.")
        {
            data, images, output, model, weights, onnx, size, batch, policy, device,
        };
        command.SetAction(parse => CommandGuard.Run(() => EmbeddingJob.Run(
            defaults with
            {
                Data = parse.GetValue(data)!,
                Images = parse.GetValue(images),
                Output = parse.GetValue(output)!,
                Model = parse.GetValue(model) ?? defaults.Model,
                Weights = parse.GetValue(weights),
                Onnx = parse.GetValue(onnx),
                ImageSize = parse.GetValue(size),
                BatchSize = parse.GetValue(batch),
                Policy = parse.GetValue(policy) ?? defaults.Policy,
                Device = parse.GetValue(device) ?? defaults.Device,
            },
            Console.Out)));
        return command;
    }
}
