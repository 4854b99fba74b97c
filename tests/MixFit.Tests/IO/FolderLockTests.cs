using System.Diagnostics;
using System.Globalization;
using MixFit.Experiments;
using MixFit.IO;
using MixFit.Tests.Cli;

namespace MixFit.Tests.IO;

/// <summary>One writer per folder: the lock is exclusive, names its holder, and dies with its process.</summary>
public sealed class FolderLockTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-lock-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string name) => Path.Combine(dir, name);

    [Fact]
    public void A_second_writer_fails_at_once_naming_the_folder_and_the_holder_and_gets_it_after_release()
    {
        string folder = P("ckpt");
        var first = FolderLock.Acquire(folder, "first writer");
        var error = Assert.Throws<FolderLockedException>(() => FolderLock.Acquire(folder, "second writer"));
        Assert.Equal(folder, error.Folder);
        Assert.Contains(folder, error.Message);
        Assert.Contains($"this process ({Environment.ProcessId}, first writer)", error.Message);
        Assert.Equal(error.Holder, FolderLock.Holder(folder));
        Assert.Equal(new[] { FolderLock.FileName }, Directory.GetFiles(folder).Select(Path.GetFileName));    // nothing else written

        first.Dispose();
        Assert.Null(FolderLock.Holder(folder));
        using var second = FolderLock.Acquire(folder, "second writer");
        Assert.Contains("second writer", FolderLock.Holder(folder));
    }

    [Fact]
    public void Acquiring_creates_a_missing_folder()
    {
        using var held = FolderLock.Acquire(P("new/deeper"), "test");
        Assert.True(File.Exists(Path.Combine(P("new/deeper"), FolderLock.FileName)));
        Assert.Equal(Path.GetFullPath(P("new/deeper")), held.Folder);
    }

    [Fact]
    public void Compare_refuses_a_report_folder_another_writer_holds_before_any_work()
    {
        using var held = FolderLock.Acquire(P("report"), "someone else");
        var options = new MixFit.Experiments.CompareOptions { Output = P("report"), Train = new TrainJobOptions { Store = P("store"), Limit = 64, Epochs = 1 } };
        var error = Assert.Throws<FolderLockedException>(() => PolicyComparison.Run(options, TextWriter.Null));
        Assert.Contains("someone else", error.Message);
        Assert.False(Directory.Exists(P("store")), "nothing was trained or recorded");
    }

    /// <summary>
    /// Two `mixfit train` on one --checkpoint-dir: the second (a resume too) fails at once, exit 2, one line naming the
    /// folder and the first process; after the first is SIGKILLed the kernel has dropped its lock and a resume runs.
    /// </summary>
    [Fact]
    public void A_second_mixfit_train_on_a_busy_checkpoint_folder_is_refused_and_a_killed_holder_leaves_no_stale_lock()
    {
        string ckpt = P("ckpt");
        string[] Train(params string[] extra) =>
            new[] { "train", "--limit", "512", "--batch-size", "64", "--checkpoint-dir", ckpt, "--store", P("store"), "--verbose", "2" }.Concat(extra).ToArray();
        using var holder = CliRunner.Start(Train("--epochs", "200"));
        _ = holder.StandardError.ReadToEndAsync();
        try
        {
            // Wait until it has written its first checkpoint (an epoch ended): it holds the folder.
            string? line;
            while ((line = holder.StandardOutput.ReadLine()) is not null && !line.StartsWith("Epoch 2/", StringComparison.Ordinal))
            {
            }

            Assert.NotNull(line);
            foreach (var extra in new[] { new[] { "--epochs", "1" }, new[] { "--epochs", "300", "--resume" } })
            {
                var second = CliRunner.Run(Train(extra));
                Assert.Equal(2, second.ExitCode);
                string message = second.Error.Trim();
                Assert.DoesNotContain('\n', message);
                Assert.Contains(Path.GetFullPath(ckpt), message);
                Assert.Contains($"in use by process {holder.Id.ToString(CultureInfo.InvariantCulture)} on {Environment.MachineName} (", message);
                Assert.Contains("MixFit.Cli.dll train", message);
            }

            Assert.False(holder.HasExited, "the first run is still training");
            Assert.Single(Directory.GetDirectories(Path.Combine(P("store"), "runs")));    // the refused runs recorded nothing
        }
        finally
        {
            holder.Kill();
            Assert.True(holder.WaitForExit(30_000));
        }

        Assert.Null(FolderLock.Holder(ckpt));
        var resumed = CliRunner.Run(Train("--epochs", "1", "--resume"));
        Assert.True(resumed.ExitCode == 0, resumed.Error);
    }
}
