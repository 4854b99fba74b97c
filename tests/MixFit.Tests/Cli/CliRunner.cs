using System.Diagnostics;

namespace MixFit.Tests.Cli;

/// <summary>Runs the real <c>mixfit</c> command (MixFit.Cli.dll next to the tests) in a child process.</summary>
public static class CliRunner
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "MixFit.Cli.dll");

    public static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        info.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info)!;
    }

    public static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        using var process = Start(args);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(600_000), $"mixfit {string.Join(' ', args)} did not finish");
        return (process.ExitCode, output.Result, error.Result);
    }
}
