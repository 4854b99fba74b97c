using System.CommandLine;
using MixFit.Cli;

// The root is named "mixfit" whatever the host process is called (dotnet MixFit.Cli.dll, dotnet run, the tool shim).
var root = new Command("mixfit", $"MixFit: tf.keras-style mixed-precision training for .NET (TorchSharp). {ExitCodes.Help}")
{
    new System.CommandLine.Help.HelpOption(),
    new VersionOption(),
};
root.Subcommands.Add(CompareCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(PredictCommand.Create());
root.Subcommands.Add(EmbedCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(DatasetsCommand.Create());
root.Subcommands.Add(DoctorCommand.Create());
root.Subcommands.Add(RunsCommand.Create());
root.Subcommands.Add(ReportCommand.Create());
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // Usage errors (unknown options, bad values) follow the CLI's convention: one line each, exit 2.
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"error: {error.Message}");
    }

    Console.Error.WriteLine($"Run 'mixfit {string.Join(' ', parse.CommandResult.Command == root ? Array.Empty<string>() : new[] { parse.CommandResult.Command.Name })} --help' for usage.".Replace("  ", " ", StringComparison.Ordinal));
    return ExitCodes.BadInput;
}

return parse.Invoke();
