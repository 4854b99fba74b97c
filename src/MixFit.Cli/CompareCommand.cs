using System.CommandLine;
using MixFit.Experiments;
using MixFit.Precision;

namespace MixFit.Cli;

/// <summary><c>mixfit compare</c>: the article's experiment, the same model under several policies, side by side.</summary>
internal static class CompareCommand
{
    private static readonly CompareOptions Defaults = new();

    public static Command Create()
    {
        var binder = new TrainOptionsBinder(withPolicy: false);
        var policies = TypedOption.Create(
            "--policies", "Policies to compare (comma- or space-separated).", ParsePolicies, string.Join(",", Defaults.Policies.Select(p => p.Name)));
        policies.AllowMultipleArgumentsPerToken = true;
        policies.Arity = ArgumentArity.OneOrMore;
        var force = new Option<bool>("--force") { Description = "Train every policy without measuring a step first (nothing is skipped)." };
        var maxSlowdown = TypedOption.Plain("--max-slowdown", "Train a policy only when its measured training step is at most this many times float32's.", Defaults.MaxSlowdown);
        var output = TypedOption.Plain("--out", "Folder for report.html and charts/.", Defaults.Output);
        output.Aliases.Add("-o");
        var command = new Command("compare", "Train one model under float32 and mixed precision policies and compare them (table, tracked runs, HTML and PNG report).");
        binder.AddTo(command);
        command.Options.Add(policies);
        command.Options.Add(force);
        command.Options.Add(maxSlowdown);
        command.Options.Add(output);
        command.SetAction(parse => CommandGuard.Run(token =>
        {
            var options = new CompareOptions { Policies = parse.GetValue(policies) ?? Defaults.Policies, Force = parse.GetValue(force), MaxSlowdown = parse.GetValue(maxSlowdown), Output = parse.GetValue(output)!, Train = binder.Bind(parse) };
            return PolicyComparison.Run(options, Console.Out, token).Cancelled;
        }));
        return command;
    }

    private static IReadOnlyList<DTypePolicy> ParsePolicies(string text) =>
        text.Split(new[] { ',', ' ' }, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(DTypePolicy.Parse).ToArray();
}
