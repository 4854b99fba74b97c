using System.CommandLine;
using MixFit.Data;

namespace MixFit.Cli;

/// <summary><c>mixfit datasets export fashion-mnist --out DIR [--count N] [--split train|test]</c>.</summary>
internal static class DatasetsCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The dataset: fashion-mnist." };
        var output = new Option<string>("--out", "-o") { Description = "Folder to write images/, train.csv (test.csv for --split test) and label_map.json into.", Required = true };
        var count = new Option<int?>("--count") { Description = "Export only the first N images." };
        var split = new Option<string>("--split") { Description = "train or test.", DefaultValueFactory = _ => "train" };
        var export = new Command("export", "Write a dataset in the image-folder + CSV layout (images/*.png, train.csv with image,category, label_map.json).") { name, output, count, split };
        export.SetAction(parse => CommandGuard.Run(() =>
        {
            if (!string.Equals(parse.GetValue(name), "fashion-mnist", StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"Unknown dataset \"{parse.GetValue(name)}\". Valid datasets: fashion-mnist.");
            }

            var which = parse.GetValue(split) switch
            {
                "train" => FashionMnistSplit.Train,
                "test" => FashionMnistSplit.Test,
                var other => throw new ArgumentException($"Unknown split \"{other}\". Valid splits: train, test."),
            };
            string csv = FashionMnistExporter.Export(FashionMnist.Load(which), parse.GetValue(output)!, parse.GetValue(count), which == FashionMnistSplit.Test ? "test.csv" : "train.csv");
            Console.WriteLine($"wrote {csv}");
        }));
        var command = new Command("datasets", "Work with datasets.");
        command.Subcommands.Add(export);
        return command;
    }
}
