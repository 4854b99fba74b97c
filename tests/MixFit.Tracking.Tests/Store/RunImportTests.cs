using System.Diagnostics;
using MixFit.Tracking.Store;

namespace MixFit.Tracking.Tests.Store;

/// <summary>
/// Importing is staged: a process killed (SIGKILL, no catch runs) partway through copying a large run leaves no
/// <c>runs/&lt;id&gt;</c> folder and no index row, and the same folder imports cleanly afterwards. Failures inside the
/// process are cleaned up by a catch; only a real kill shows whether the copy went to a staging folder first.
/// </summary>
public sealed class RunImportTests : IDisposable
{
    private const int Files = 4000;
    private readonly TempStore temp = new();
    private readonly string outside = Directory.CreateTempSubdirectory("mixfit-import-").FullName;

    public void Dispose()
    {
        temp.Dispose();
        Directory.Delete(outside, recursive: true);
    }

    /// <summary>A finished run with a few metrics and a large artifacts folder (many files: a copy that takes a while).</summary>
    private (string Folder, string Id) LargeRun()
    {
        var source = RunStore.Open(Path.Combine(outside, "source"));
        string folder, id;
        using (var run = source.StartRun("large"))
        {
            for (int i = 0; i < 20; i++)
            {
                run.Log("step", i, new Dictionary<string, double> { ["loss"] = 1.0 / (i + 1) });
            }

            run.Finish();
            folder = run.Folder;
            id = run.Id;
        }

        string files = Path.Combine(folder, "artifacts", "shards");
        Directory.CreateDirectory(files);
        var block = new byte[16 * 1024];
        for (int i = 0; i < Files; i++)
        {
            block[0] = (byte)i;
            File.WriteAllBytes(Path.Combine(files, $"shard-{i:D5}.bin"), block);
        }

        return (folder, id);
    }

    private static Process StartImport(string store, string folder)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "MixFit.Tracking.TestHost.dll"), "import", store, folder })
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info)!;
    }

    /// <summary>Every folder under <paramref name="runs"/>, hidden ones (a leading dot: the staging folders) included.</summary>
    private static IEnumerable<string> Folders(string runs) => Directory.EnumerateDirectories(runs, "*", new EnumerationOptions { AttributesToSkip = 0 });

    /// <summary>Files copied so far into whatever the importer is writing under runs/ (staging or not).</summary>
    private static int FilesUnder(string runs) =>
        Folders(runs).Sum(d =>
        {
            try
            {
                return Directory.EnumerateFiles(d, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Count();
            }
            catch (DirectoryNotFoundException)
            {
                return 0;
            }
        });

    [Fact]
    public void An_import_killed_partway_leaves_no_run_folder_and_no_row_and_imports_cleanly_afterwards()
    {
        var (folder, id) = LargeRun();
        var store = temp.Open();
        string runs = store.RunsDirectory;

        using (var child = StartImport(temp.Root, folder))
        {
            Assert.Equal("importing", child.StandardOutput.ReadLine());
            // Kill it as soon as it has made a folder under runs/ (it copies into it for seconds), long before the last file.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!Folders(runs).Any() && !child.HasExited && DateTime.UtcNow < deadline)
            {
                Thread.SpinWait(1000);
            }

            if (child.HasExited)
            {
                Assert.Fail($"the import ended (exit {child.ExitCode}) before it could be killed: {child.StandardError.ReadToEnd()}");
            }

            child.Kill();
            Assert.True(child.WaitForExit(30_000));
        }

        int copied = FilesUnder(runs);
        Assert.True(Folders(runs).Any() && copied < Files, $"killed partway: {copied} of {Files} files were copied");
        Assert.False(Directory.Exists(store.RunFolder(id)), $"runs/{id} exists after a killed import");
        var reopened = temp.Open();
        Assert.DoesNotContain(reopened.List(), r => r.Id == id);
        Assert.Empty(reopened.List());

        var report = reopened.Import(folder);
        Assert.Equal(id, report.RunId);
        var imported = reopened.Get(id);
        Assert.Equal(RunStatus.Finished, imported.Status);
        Assert.Equal(20, reopened.Metrics(id, "step").Count);
        Assert.Equal(Files, Directory.GetFiles(Path.Combine(reopened.RunFolder(id), "artifacts", "shards")).Length);
    }
}
