using System.CommandLine;
using MixFit.Experiments;

namespace MixFit.Cli;

/// <summary><c>mixfit train</c>: one tracked run with every knob.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var binder = new TrainOptionsBinder(withPolicy: true);
        var runName = new Option<string?>("--run-name") { Description = "Name of the tracked run." };
        var tags = new Option<string[]>("--tags") { Description = "Tags for the tracked run.", AllowMultipleArgumentsPerToken = true };
        var checkpoints = new Option<string?>("--checkpoint-dir") { Description = "Write last.ckpt.safetensors every epoch (and mixfit-model.json) here." };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint in --checkpoint-dir." };
        var command = new Command("train", "Train one model (tracked) with the given data, model, policy and optimizer.");
        binder.AddTo(command);
        command.Options.Add(runName);
        command.Options.Add(tags);
        command.Options.Add(checkpoints);
        command.Options.Add(resume);
        command.SetAction(parse => CommandGuard.Run(token =>
        {
            var options = binder.Bind(parse) with
            {
                RunName = parse.GetValue(runName),
                Tags = parse.GetValue(tags) ?? Array.Empty<string>(),
                CheckpointDirectory = parse.GetValue(checkpoints),
                Resume = parse.GetValue(resume),
            };
            var result = TrainingJob.Run(options, Console.Out, token);
            if (result.Test is { } test)
            {
                Console.WriteLine(string.Join(" - ", test.Select(kv => $"test {kv.Key} {kv.Value:F4}")));
            }

            if (result.RunId.Length > 0)
            {
                // Under mpirun only rank 0 tracks a run.
                Console.WriteLine($"run {result.RunId}{(result.Cancelled ? " (killed)" : "")}");
            }
            return result.Cancelled;
        }));
        return command;
    }
}
