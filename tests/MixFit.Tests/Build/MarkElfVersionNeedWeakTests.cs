using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using MixFit.Build;

namespace MixFit.Tests.Build;

/// <summary>The build's libLibTorchSharp.so fix, on copies of the real library from the test's own output folder.</summary>
public sealed class MarkElfVersionNeedWeakTests : IDisposable
{
    private const string Glibcxx = "libstdc++.so.6";
    private const string Version = "GLIBCXX_3.4.32";
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-elf-").FullName;

    private static string OutputLibrary =>
        Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).First();

    private string PristineCopy()
    {
        string copy = Path.Combine(dir, "libLibTorchSharp.so");
        File.Copy(OutputLibrary, copy, overwrite: true);
        ElfVersions.MarkWeak(copy, Glibcxx, Version, weak: false);
        return copy;
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void TorchSharp_0_107_needs_glibcxx_3_4_32_from_libstdcxx()
    {
        var needs = ElfVersions.ReadNeeds(PristineCopy());
        Assert.Contains(needs, n => n.File == Glibcxx && n.Version == Version && !n.Weak);
        Assert.Contains(needs, n => n.File == "libc.so.6");
    }

    [Fact]
    public void Marking_weak_changes_exactly_that_entry_and_is_idempotent()
    {
        string path = PristineCopy();
        var before = File.ReadAllBytes(path);
        var needsBefore = ElfVersions.ReadNeeds(path);

        Assert.True(ElfVersions.MarkWeak(path, Glibcxx, Version));
        var after = File.ReadAllBytes(path);
        Assert.Equal(before.Length, after.Length);
        Assert.Equal(1, before.Zip(after).Count(pair => pair.First != pair.Second));

        var needsAfter = ElfVersions.ReadNeeds(path);
        for (int i = 0; i < needsBefore.Count; i++)
        {
            bool isTarget = needsBefore[i].Version == Version;
            Assert.Equal(isTarget || needsBefore[i].Weak, needsAfter[i].Weak);
        }

        Assert.False(ElfVersions.MarkWeak(path, Glibcxx, Version));
        Assert.Equal(after, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_missing_version_need_or_a_non_elf_file_is_a_clear_error()
    {
        string path = PristineCopy();
        var e = Assert.Throws<InvalidDataException>(() => ElfVersions.MarkWeak(path, Glibcxx, "GLIBCXX_9.9"));
        Assert.Contains("GLIBCXX_9.9", e.Message);

        string text = Path.Combine(dir, "notes.txt");
        File.WriteAllText(text, "not a shared object at all, just text");
        Assert.Contains("not an ELF file", Assert.Throws<InvalidDataException>(() => ElfVersions.ReadNeeds(text)).Message);
    }

    [Fact]
    public void The_task_weakens_the_need_only_when_the_provider_lacks_the_version()
    {
        string provider = ElfVersions.FindSystemLibrary(Glibcxx)!;
        Assert.NotNull(provider);
        bool systemHasIt = ElfVersions.ReadDefinitions(provider).Contains(Version);

        string path = PristineCopy();
        var engine = new RecordingBuildEngine();
        var task = new MarkElfVersionNeedWeak { BuildEngine = engine, Libraries = new ITaskItem[] { new TaskItem(path) }, Versions = Version, ProviderPath = provider };
        Assert.True(task.Execute());

        bool weak = ElfVersions.ReadNeeds(path).Single(n => n.Version == Version).Weak;
        Assert.Equal(!systemHasIt, weak);
        Assert.Empty(engine.Warnings);
    }

    [Fact]
    public void The_task_leaves_a_library_alone_when_the_provider_defines_every_needed_version()
    {
        // libLibTorchSharp itself defines no GLIBCXX versions, so use a provider that does: a copy of libstdc++
        // whose need would be met is simulated by listing the system library and a version it surely defines.
        string path = PristineCopy();
        var before = File.ReadAllBytes(path);
        var task = new MarkElfVersionNeedWeak
        {
            BuildEngine = new RecordingBuildEngine(),
            Libraries = new ITaskItem[] { new TaskItem(path) },
            Versions = Version,
            Provider = "libc.so.6",
            ProviderPath = ElfVersions.FindSystemLibrary("libc.so.6")!,
        };
        Assert.True(task.Execute());
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void The_build_output_copy_loads_and_the_nuget_cache_copy_is_untouched()
    {
        string provider = ElfVersions.FindSystemLibrary(Glibcxx)!;
        bool systemHasIt = ElfVersions.ReadDefinitions(provider).Contains(Version);
        var outputNeed = ElfVersions.ReadNeeds(OutputLibrary).Single(n => n.Version == Version);
        Assert.Equal(!systemHasIt, outputNeed.Weak);

        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string cached = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(cached), $"expected the restored package at {cached}");
        Assert.False(ElfVersions.ReadNeeds(cached).Single(n => n.Version == Version).Weak);
    }

    private sealed class RecordingBuildEngine : IBuildEngine
    {
        public List<string> Warnings { get; } = new();

        public bool ContinueOnError => false;

        public int LineNumberOfTaskNode => 0;

        public int ColumnNumberOfTaskNode => 0;

        public string ProjectFileOfTaskNode => "test.proj";

        public bool BuildProjectFile(string projectFileName, string[] targetNames, System.Collections.IDictionary globalProperties, System.Collections.IDictionary targetOutputs) => false;

        public void LogCustomEvent(CustomBuildEventArgs e)
        {
        }

        public void LogErrorEvent(BuildErrorEventArgs e) => throw new InvalidOperationException(e.Message ?? "error");

        public void LogMessageEvent(BuildMessageEventArgs e)
        {
        }

        public void LogWarningEvent(BuildWarningEventArgs e) => Warnings.Add(e.Message ?? "");
    }
}
