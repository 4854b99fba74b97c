using MixFit.Cli;
using MixFit.Experiments;

namespace MixFit.Tests.Cli;

/// <summary>The CLI's one exit-code convention and its one place that decides it.</summary>
public class CommandGuardTests
{
    [Fact]
    public void Bad_input_exits_2_an_internal_error_1_an_interruption_130_each_with_one_line()
    {
        var error = new StringWriter();
        Assert.Equal(ExitCodes.BadInput, CommandGuard.Run(() => throw new FileNotFoundException("/data/missing.csv not found"), error));
        Assert.Equal(ExitCodes.BadInput, CommandGuard.Run(() => throw new System.Text.Json.JsonException("label_map.json: not valid JSON"), error));
        Assert.Equal(ExitCodes.InternalError, CommandGuard.Run(() => throw new InvalidOperationException("boom"), error));
        Assert.Equal(ExitCodes.Interrupted, CommandGuard.Run(_ => true, error));
        Assert.Equal(ExitCodes.Success, CommandGuard.Run(() => { }, error));
        Assert.Equal(
            new[] { "error: /data/missing.csv not found", "error: label_map.json: not valid JSON", "internal error: boom" },
            error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public void A_callback_failure_is_bad_input_only_when_its_cause_is()
    {
        var error = new StringWriter();
        var io = new MixFit.Callbacks.CallbackException("ModelCheckpoint", "OnEpochEnd", new IOException("disk full"));
        var bug = new MixFit.Callbacks.CallbackException("MyCallback", "OnEpochEnd", new NullReferenceException());
        Assert.Equal(ExitCodes.BadInput, CommandGuard.Run(() => throw io, error));
        Assert.Equal(ExitCodes.InternalError, CommandGuard.Run(() => throw bug, error));
    }

    [Fact]
    public void The_help_states_the_convention()
    {
        var (code, output, _) = CliRunner.Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("Exit codes: 0 success, 1 internal error, 2 bad input or usage, 130 interrupted", output);
    }

    [Fact]
    public void An_unknown_option_is_a_usage_error_exit_2()
    {
        var (code, _, error) = CliRunner.Run("train", "--epoch", "2");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--epoch", error);
        Assert.Contains("mixfit train --help", error);
    }

    [Fact]
    public void Train_options_without_arguments_are_the_job_options_defaults()
    {
        var binder = new TrainOptionsBinder(withPolicy: true);
        var command = new System.CommandLine.Command("train");
        binder.AddTo(command);
        var bound = binder.Bind(command.Parse(Array.Empty<string>()));
        Assert.Equal(new TrainJobOptions(), bound);
    }
}
