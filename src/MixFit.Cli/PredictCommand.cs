using System.CommandLine;
using MixFit.Experiments;

namespace MixFit.Cli;

/// <summary><c>mixfit predict</c>: classes for a CSV of images, with the original category ids.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint written by train (mixfit-model.json must be beside it).", Required = true };
        var data = new Option<string>("--data") { Description = "CSV with an image column (other columns are ignored).", Required = true };
        var images = new Option<string?>("--images") { Description = "Folder of the images (default: images/ beside the CSV)." };
        var output = TypedOption.Plain("--out", "Where to write image,category (and p_<category> columns with --probabilities).", "predictions.csv");
        output.Aliases.Add("-o");
        var device = TypedOption.Create("--device", "auto, cpu, cuda or cuda:N.", DeviceChoice.Parse, DeviceChoice.Auto.Name);
        var probabilities = new Option<bool>("--probabilities") { Description = "Also write each class's probability as p_<category> columns." };
        var command = new Command("predict", "Predict the category of every image in a CSV with a trained checkpoint.") { checkpoint, data, images, output, device, probabilities };
        command.SetAction(parse => CommandGuard.Run(() =>
            PredictionJob.Run(parse.GetValue(checkpoint)!, parse.GetValue(data)!, parse.GetValue(images), parse.GetValue(output)!, Console.Out, device: parse.GetValue(device), probabilities: parse.GetValue(probabilities))));
        return command;
    }
}
