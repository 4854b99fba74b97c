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
            LinkOrCopy(file, Path.Combine(lib, Path.GetFileName(file)));
        }

        return Path.Combine(folder, "torch");
    }

    /// <summary>
    /// The libtorch and the shim this test process runs on, as a user's torch folder and a prebuilt shim for the tools
    /// that take them (the GPU kit): in a plain build <see cref="StandInTorch"/> and TorchSharp's own shim (weak-patched
    /// by the build); in a run on another libtorch (<see cref="ExpectedLibTorch.IsExternal"/>, tools/current-libtorch)
    /// <paramref name="folder"/>/torch/lib holding the libtorch libraries this process loaded (hard links, copies where
    /// links fail) and the shim the external build put next to the test binaries.
    /// </summary>
    public static (string TorchDir, string Shim) TorchOfThisRun(string folder)
    {
        if (!ExpectedLibTorch.IsExternal)
        {
            return (StandInTorch(folder), Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
        }

        using (TorchSharp.torch.zeros(1))
        {
            // Loads libtorch, so /proc/self/maps names it.
        }

        string loaded = MixFit.Native.LoadedLibraries.Find("libtorch_cpu") ?? throw new InvalidOperationException("libtorch_cpu is not loaded in this test process");
        string lib = Path.Combine(folder, "torch", "lib");
        Directory.CreateDirectory(lib);
        foreach (var name in new[] { "libc10", "libtorch_cpu", "libtorch" })
        {
            string source = Directory.GetFiles(Path.GetDirectoryName(loaded)!, name + ".so*").Select(f => new FileInfo(f)).First(f => f.LinkTarget is null).FullName;
            LinkOrCopy(source, Path.Combine(lib, name + ".so"));
        }

        return (Path.Combine(folder, "torch"), Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so"));
    }

    /// <summary>A hard link at <paramref name="target"/> to <paramref name="source"/> (as a PyTorch install's torch/lib holds its libraries), a copy where linking fails.</summary>
    private static void LinkOrCopy(string source, string target)
    {
        if (Run("ln", $"\"{source}\" \"{target}\"").ExitCode != 0)
        {
            File.Copy(source, target);
        }
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
