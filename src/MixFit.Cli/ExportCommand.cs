using System.CommandLine;
using MixFit.Experiments;

namespace MixFit.Cli;

/// <summary><c>mixfit export</c>: a checkpoint as an ONNX model for ONNX Runtime or ML.NET.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint written by train (mixfit-model.json must be beside it).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "The .onnx file to write (float32 weights, opset 14, batch dimension N).", Required = true };
        var command = new Command("export", "Export a trained checkpoint to ONNX, for ONNX Runtime, ML.NET or any ONNX tool.") { checkpoint, output };
        command.SetAction(parse => CommandGuard.Run(() => ExportJob.Run(parse.GetValue(checkpoint)!, parse.GetValue(output)!, Console.Out)));
        return command;
    }
}
