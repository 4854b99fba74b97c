using MixFit.Build;
using MixFit.Tests.Support;

namespace MixFit.Tests.Packaging;

/// <summary>
/// The packages as a user meets them: tools/pack.sh packs MixFit, a fresh application outside the repository adds it
/// (with the Linux x64 CPU backend) from that folder, builds and trains; without a backend its build fails with
/// MIXFIT001 instead of aborting at run time. Slow (packs and restores), so in CI's second step.
/// </summary>
[Trait("Category", "Slow")]
public sealed class PackageConsumerTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-package-").FullName;
    private readonly string version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

    public void Dispose()
    {
        Directory.Delete(dir, recursive: true);

        // The test's own version of each package leaves the NuGet cache with it.
        foreach (var id in new[] { "mixfit", "mixfit.cpu", "mixfit.tracking", "mixfit.integration.tracking", "mixfit.experiments" })
        {
            string cached = Path.Combine(RepositoryFiles.NuGetPackages, id, version);
            if (Directory.Exists(cached))
            {
                Directory.Delete(cached, recursive: true);
            }
        }
    }

    private string App(string name, bool withBackend, string extraCode = "")
    {
        string app = Path.Combine(dir, name);
        Directory.CreateDirectory(app);
        string backend = withBackend ? """<PackageReference Include="libtorch-cpu-linux-x64" Version="2.10.0" />""" : "";
        File.WriteAllText(Path.Combine(app, $"{name}.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <RestoreAdditionalProjectSources>{Path.Combine(dir, "feed")}</RestoreAdditionalProjectSources>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="MixFit" Version="{version}" />
                {backend}
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using MixFit.Applications;
            using MixFit.Data;
            using MixFit.Precision;
            using MixFit.Training;

            var (x, y) = FashionMnist.LoadEmbedded(FashionMnistSplit.Train).ToTensors();
            using var trainer = new Trainer(SmallCnn.Create());
            trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16, Metrics = new[] { "accuracy" } });
            var history = trainer.Fit(x.narrow(0, 0, 512), y.narrow(0, 0, 512), new FitOptions { Epochs = 1, BatchSize = 64, Verbose = 0 });
            Console.WriteLine($"trained: loss {history["loss"][0]:F4}");
            """ + extraCode);
        return app;
    }

    [Fact]
    public void A_fresh_app_adds_the_packed_library_builds_and_trains_and_without_a_backend_the_build_says_what_to_add()
    {
        var pack = RepositoryFiles.Run("bash", $"tools/pack.sh --no-tool --version {version} \"{Path.Combine(dir, "feed")}\"");
        Assert.True(pack.ExitCode == 0, pack.Output);
        Assert.True(File.Exists(Path.Combine(dir, "feed", $"MixFit.{version}.nupkg")), pack.Output);
        Assert.True(File.Exists(Path.Combine(dir, "feed", $"MixFit.Cpu.{version}.nupkg")), pack.Output);

        string app = App("Consumer", withBackend: true);
        var run = RepositoryFiles.Run("dotnet", "run -c Release", app);
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Matches(@"trained: loss \d\.\d{4}", run.Output);

        // The copy in the app's output is weak whatever this machine's libstdc++ has; the trimmed files are absent.
        string native = Path.Combine(app, "bin", "Release", "net10.0", "runtimes", "linux-x64", "native");
        Assert.True(ElfVersions.ReadNeeds(Path.Combine(native, "libLibTorchSharp.so")).Single(n => n.Version == "GLIBCXX_3.4.32").Weak);
        Assert.True(File.Exists(Path.Combine(native, "libtorch_cpu.so")));
        Assert.False(File.Exists(Path.Combine(native, "libtorch_python.so")), "the native payload is trimmed to what TorchSharp loads");

        string bare = App("NoBackend", withBackend: false);
        var build = RepositoryFiles.Run("dotnet", "build -c Release", bare);
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("MIXFIT001", build.Output);
        Assert.Contains("dotnet add package MixFit.Cpu", build.Output);
    }

    [Fact]
    public void An_app_built_with_the_external_backend_loads_the_libtorch_and_shim_it_was_given()
    {
        var pack = RepositoryFiles.Run("bash", $"tools/pack.sh --no-tool --version {version} \"{Path.Combine(dir, "feed")}\"");
        Assert.True(pack.ExitCode == 0, pack.Output);

        // "Your own libtorch": a folder outside the app holding libtorch's files (hard links to the NuGet copy, as
        // a PyTorch install's torch/lib would), and "your own shim" built for it (here TorchSharp's own build of it).
        string torch = RepositoryFiles.StandInTorch(dir);
        string torchLib = Path.Combine(torch, "lib");

        string shim = Path.Combine(dir, "shim", "libLibTorchSharp.so");
        Directory.CreateDirectory(Path.GetDirectoryName(shim)!);
        File.Copy(Path.Combine(RepositoryFiles.NuGetPackages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"), shim);

        string app = App("External", withBackend: false, """

            Console.WriteLine($"preloaded from: {MixFit.Native.ExternalLibTorch.LoadedFrom}");
            Console.WriteLine($"libtorch_cpu: {MixFit.Native.LoadedLibraries.Find("libtorch_cpu")}");
            Console.WriteLine($"shim: {MixFit.Native.LoadedLibraries.Find("libLibTorchSharp")}");
            """);
        var missing = RepositoryFiles.Run("dotnet", "build -c Release -p:MixFitTorchBackend=external", app);
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("MIXFIT002", missing.Output);
        Assert.Contains("tools/build-torchsharp-shim.sh", missing.Output);

        var run = RepositoryFiles.Run("dotnet", $"run -c Release -p:MixFitTorchBackend=external -p:MixFitLibTorchDir={torch} -p:MixFitLibTorchSharp={shim}", app);
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Matches(@"trained: loss \d\.\d{4}", run.Output);
        Assert.Contains($"preloaded from: {torchLib}", run.Output);
        Assert.Contains($"libtorch_cpu: {Path.Combine(torchLib, "libtorch_cpu.so")}", run.Output);
        string output = Path.Combine(app, "bin", "Release", "net10.0");
        Assert.True(run.Output.Contains($"shim: {Path.Combine(output, "libLibTorchSharp.so")}", StringComparison.Ordinal), run.Output);
        Assert.False(File.Exists(Path.Combine(output, "runtimes", "linux-x64", "native", "libLibTorchSharp.so")), "TorchSharp's own shim stays out");
        Assert.False(File.Exists(Path.Combine(output, "runtimes", "linux-x64", "native", "libtorch_cpu.so")), "no libtorch package in an external-backend app");
        Assert.Contains(torch, File.ReadAllText(Path.Combine(output, "External.runtimeconfig.json")));
    }
}
