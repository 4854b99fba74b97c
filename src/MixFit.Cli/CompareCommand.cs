using System.CommandLine;
using MixFit.Experiments;

namespace MixFit.Cli;

/// <summary><c>mixfit compare</c>: the article's experiment, the same model under several policies, side by side.</summary>
internal static class CompareCommand
{
    public static Command Create()
    {
        var binder = new TrainOptionsBinder(new TrainJobOptions(), withPolicy: false);
        var policies = new Option<string[]>("--policies") { Description = "Policies to compare.", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => new[] { "float32", "mixed_bfloat16", "mixed_float16" } };
        var force = new Option<bool>("--force") { Description = "Also run policies whose compute dtype is far slower than float32 on this hardware." };
        var output = new Option<string>("--out", "-o") { Description = "Folder for report.html and charts/.", DefaultValueFactory = _ => "mixfit-compare" };
        var command = new Command("compare", "Train one model under float32 and mixed precision policies and compare them (table, tracked runs, HTML and PNG report).");
        binder.AddTo(command);
        command.Options.Add(policies);
        command.Options.Add(force);
        command.Options.Add(output);
        command.SetAction(parse => JobRunner.Run(token =>
        {
            var list = parse.GetValue(policies)!.SelectMany(p => p.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
            var result = PolicyComparison.Run(new CompareOptions { Policies = list, Force = parse.GetValue(force), Output = parse.GetValue(output)!, Train = binder.Bind(parse) }, token);
            return result.Cancelled;
        }));
        return command;
    }
}
