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
        var output = new Option<string>("--out", "-o") { Description = "Where to write image,category.", DefaultValueFactory = _ => "predictions.csv" };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda.", DefaultValueFactory = _ => "auto" };
        var command = new Command("predict", "Predict the category of every image in a CSV with a trained checkpoint.") { checkpoint, data, images, output, device };
        command.SetAction(parse => JobRunner.Run(_ =>
        {
            PredictionJob.Run(parse.GetValue(checkpoint)!, parse.GetValue(data)!, parse.GetValue(images), parse.GetValue(output)!, device: parse.GetValue(device)!);
            return false;
        }));
        return command;
    }
}
