using System.CommandLine;
using MixFit.Cli;

var root = new RootCommand("MixFit: tf.keras-style mixed-precision training for .NET (TorchSharp).");
root.Subcommands.Add(CompareCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(PredictCommand.Create());
root.Subcommands.Add(DatasetsCommand.Create());
root.Subcommands.Add(DoctorCommand.Create());
root.Subcommands.Add(RunsCommand.Create());
root.Subcommands.Add(ReportCommand.Create());
return root.Parse(args).Invoke();
