using MixFit.Tests.Support;

namespace MixFit.Tests.Tools;

/// <summary>
/// tools/current-libtorch's scripts refuse what they cannot do in one line that says what to do. Making the root
/// itself (debootstrap, ~2.5 GB) and the suite in it are run by ./test.sh's last stage where the root exists.
/// </summary>
public sealed class CurrentLibTorchScriptsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-current-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static string Script(string name) => Path.Combine(RepositoryFiles.Root, "tools", "current-libtorch", name);

    [Fact]
    public void Enter_and_test_refuse_a_folder_that_is_not_a_finished_root_and_say_how_to_make_one()
    {
        string notRoot = Path.Combine(dir, "half-made");
        Directory.CreateDirectory(Path.Combine(notRoot, "usr", "bin"));     // a debootstrap that never finished

        var enter = RepositoryFiles.Run("bash", $"{Script("enter.sh")} --root {notRoot} -- true");
        Assert.Equal(2, enter.ExitCode);
        Assert.Contains($"no finished root at '{notRoot}': make it with tools/current-libtorch/setup.sh --root {notRoot}", enter.Output);

        var test = RepositoryFiles.Run("bash", $"{Script("test.sh")} --root {notRoot}");
        Assert.Equal(2, test.ExitCode);
        Assert.Contains($"no finished root at '{notRoot}': make it with tools/current-libtorch/setup.sh --root {notRoot}", test.Output);
    }

    [Fact]
    public void Unknown_options_and_a_missing_command_name_what_was_expected()
    {
        var setup = RepositoryFiles.Run("bash", $"{Script("setup.sh")} --root {dir} --suite bookworm");
        Assert.Equal(2, setup.ExitCode);
        Assert.Contains("unknown option '--suite' (expected --root DIR, --mirror URL or --torchsharp DIR)", setup.Output);

        var sources = RepositoryFiles.Run("bash", $"{Script("setup.sh")} --root {dir} --torchsharp {dir}");
        Assert.Equal(2, sources.ExitCode);
        Assert.Contains($"--torchsharp '{dir}' has no LibTorchSharp folder", sources.Output);

        var enter = RepositoryFiles.Run("bash", $"{Script("enter.sh")} --root {dir}");
        Assert.Equal(2, enter.ExitCode);
        Assert.Contains("no command given", enter.Output);

        var test = RepositoryFiles.Run("bash", $"{Script("test.sh")} --jobs 4");
        Assert.Equal(2, test.ExitCode);
        Assert.Contains("unknown option '--jobs' (expected --root, --torchsharp, --shim, --only-shim)", test.Output);
    }

    [Fact]
    public void Help_says_what_each_script_needs_and_costs()
    {
        Assert.Contains("Needs: root", RepositoryFiles.Run("bash", $"{Script("setup.sh")} --help").Output);
        Assert.Contains("--bind", RepositoryFiles.Run("bash", $"{Script("enter.sh")} --help").Output);
        Assert.Contains("Cost on 2 cores", RepositoryFiles.Run("bash", $"{Script("test.sh")} --help").Output);
    }
}
