using System.Diagnostics;

namespace MixFit.Tests.Support;

/// <summary>Where the repository and the restored packages are, and the external commands the tool and packaging tests run.</summary>
internal static class RepositoryFiles
{
    /// <summary>The repository root (the folder holding MixFit.sln above the test binaries).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The NuGet package folder (<c>NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>).</summary>
    public static string NuGetPackages =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>Whether an executable named <paramref name="name"/> is on PATH.</summary>
    public static bool OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Any(dir => File.Exists(Path.Combine(dir, name)));

    /// <summary>
    /// "Your own libtorch" for the external-backend and GPU-kit tests: <paramref name="folder"/>/torch/lib holding the
    /// CPU libtorch this repository builds with (hard links to the NuGet copy, as a PyTorch install's torch/lib would,
    /// copies where links fail). Returns the torch folder.
    /// </summary>
    public static string StandInTorch(string folder)
    {
        string native = Path.Combine(NuGetPackages, "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native");
        string lib = Path.Combine(folder, "torch", "lib");
        Directory.CreateDirectory(lib);
        foreach (var file in Directory.GetFiles(native))
        {
            string target = Path.Combine(lib, Path.GetFileName(file));
            if (Run("ln", $"\"{file}\" \"{target}\"").ExitCode != 0)
            {
                File.Copy(file, target);
            }
        }

        return Path.Combine(folder, "torch");
    }

    /// <summary>Runs a command (from <paramref name="workingDirectory"/>, default the repository root); its exit code and output. Fails the test after <paramref name="minutes"/>.</summary>
    public static (int ExitCode, string Output) Run(string file, string arguments, string? workingDirectory = null, int minutes = 8)
    {
        var start = new ProcessStartInfo(file, arguments) { WorkingDirectory = workingDirectory ?? Root, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(minutes)), $"{file} {arguments} did not finish in {minutes} minutes");
        return (process.ExitCode, output + error.Result);
    }

    private static string FindRoot()
    {
        for (var at = new DirectoryInfo(AppContext.BaseDirectory); at is not null; at = at.Parent)
        {
            if (File.Exists(Path.Combine(at.FullName, "MixFit.sln")))
            {
                return at.FullName;
            }
        }

        throw new InvalidOperationException($"MixFit.sln not found above {AppContext.BaseDirectory}.");
    }
}
