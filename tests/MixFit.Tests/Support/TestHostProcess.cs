using System.Diagnostics;

namespace MixFit.Tests.Support;

/// <summary>Runs <c>MixFit.TestHost</c> (next to the tests) as a child process, for scenarios that need a fresh process or a SIGKILL.</summary>
public static class TestHostProcess
{
    /// <summary>Runs the host with <paramref name="args"/>; returns its exit code and what it wrote. Fails the test after 5 minutes.</summary>
    public static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        string host = Path.Combine(AppContext.BaseDirectory, "MixFit.TestHost.dll");
        Assert.True(File.Exists(host), $"test host not found at {host}");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add(host);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(300_000), "the test host did not finish in 5 minutes");
        return (process.ExitCode, stdout.Result.Trim(), stderr);
    }
}
