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

    /// <summary>
    /// A build machine "elsewhere" (Ubuntu 24.04, whose libstdc++ has 3.4.32): a copy of this machine's libstdc++ in
    /// which one version definition that libLibTorchSharp does not need is renamed to GLIBCXX_3.4.32 (same length, so
    /// the file stays a valid ELF and still defines everything else the library needs).
    /// </summary>
    private string ProviderThatDefinesTheVersion()
    {
        string system = ElfVersions.FindSystemLibrary(Glibcxx)!;
        var bytes = File.ReadAllBytes(system);
        var defined = ElfVersions.ReadDefinitions(system);
        if (!defined.Contains(Version))
        {
            var needed = ElfVersions.ReadNeeds(PristineCopy()).Select(n => n.Version).ToHashSet();
            string spare = defined.First(v => v.StartsWith("GLIBCXX_3.4.", StringComparison.Ordinal) && v.Length == Version.Length && !needed.Contains(v));
            var from = System.Text.Encoding.ASCII.GetBytes(spare + "\0");
            var to = System.Text.Encoding.ASCII.GetBytes(Version + "\0");
            for (int at = bytes.AsSpan().IndexOf(from); at >= 0; at = bytes.AsSpan().IndexOf(from))
            {
                to.CopyTo(bytes, at);
            }
        }

        string path = Path.Combine(dir, Glibcxx);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void The_task_weakens_the_need_whether_or_not_the_build_machine_defines_the_version()
    {
        string elsewhere = ProviderThatDefinesTheVersion();
        Assert.Contains(Version, ElfVersions.ReadDefinitions(elsewhere));
        foreach (string provider in new[] { ElfVersions.FindSystemLibrary(Glibcxx)!, elsewhere })
        {
            string path = PristineCopy();
            var engine = new RecordingBuildEngine();
            var task = new MarkElfVersionNeedWeak { BuildEngine = engine, Libraries = new ITaskItem[] { new TaskItem(path) }, Versions = Version, ProviderPath = provider };
            Assert.True(task.Execute());
            Assert.True(ElfVersions.ReadNeeds(path).Single(n => n.Version == Version).Weak, $"built against {provider}");
            Assert.Empty(engine.Warnings);

            // Idempotent: a second build leaves the file as it is.
            var once = File.ReadAllBytes(path);
            Assert.True(task.Execute());
            Assert.Equal(once, File.ReadAllBytes(path));
        }
    }

    [Fact]
    public void A_need_that_is_not_listed_is_never_weakened()
    {
        string path = PristineCopy();
        var before = File.ReadAllBytes(path);
        var task = new MarkElfVersionNeedWeak
        {
            BuildEngine = new RecordingBuildEngine(),
            Libraries = new ITaskItem[] { new TaskItem(path) },
            Versions = "GLIBCXX_9.9",
            ProviderPath = ProviderThatDefinesTheVersion(),
        };
        Assert.True(task.Execute());
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void The_build_output_copy_is_weak_and_the_nuget_cache_copy_is_untouched()
    {
        Assert.True(ElfVersions.ReadNeeds(OutputLibrary).Single(n => n.Version == Version).Weak);

        string cached = Path.Combine(MixFit.Tests.Support.RepositoryFiles.NuGetPackages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
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
