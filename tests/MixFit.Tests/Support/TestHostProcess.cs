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

    /// <summary>
    /// Runs the host under <c>mpirun -np <paramref name="ranks"/></c> (Open MPI; allowed as root, oversubscribed on
    /// small machines); returns its exit code, output and the seconds it took. Fails the test after 2 minutes.
    /// </summary>
    public static (int ExitCode, string Output, double Seconds) RunMpi(int ranks, params string[] args) => RunMpiProgram(ranks, "MixFit.TestHost.dll", args);

    /// <summary>Runs <paramref name="program"/> (a dll beside the tests, e.g. the CLI's MixFit.Cli.dll) under mpirun, as <see cref="RunMpi"/>.</summary>
    public static (int ExitCode, string Output, double Seconds) RunMpiProgram(int ranks, string program, params string[] args) =>
        Launch(OpenMpiLauncher, new[] { "--oversubscribe", "-np" }, ranks, program, args);

    // Open MPI's own name for its launcher where MPICH is installed beside it (mpirun is then an alternatives link).
    private static string OpenMpiLauncher => RepositoryFiles.OnPath("mpirun.openmpi") ? "mpirun.openmpi" : "mpirun";

    /// <summary>Runs the host under MPICH's Hydra launcher (<c>mpiexec.mpich -n N</c>), as <see cref="RunMpi"/>.</summary>
    public static (int ExitCode, string Output, double Seconds) RunMpich(int ranks, params string[] args) =>
        Launch("mpiexec.mpich", new[] { "-n" }, ranks, "MixFit.TestHost.dll", args);

    private static (int ExitCode, string Output, double Seconds) Launch(string launcher, string[] countOption, int ranks, string program, string[] args)
    {
        string host = Path.Combine(AppContext.BaseDirectory, program);
        var info = new ProcessStartInfo(launcher) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in countOption.Concat(new[] { ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "dotnet", host }).Concat(args))
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        info.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        info.Environment["TERM"] = "dumb";
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        bool finished = process.WaitForExit(120_000);
        if (!finished)
        {
            process.Kill(entireProcessTree: true);
        }

        Assert.True(finished, $"{launcher} did not finish in 2 minutes (a rank is hanging)");
        return (process.ExitCode, stdout.Result + stderr, watch.Elapsed.TotalSeconds);
    }
}
