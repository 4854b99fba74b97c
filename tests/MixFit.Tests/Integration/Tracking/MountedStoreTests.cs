using MixFit.Callbacks;
using MixFit.Integration.Tracking;
using MixFit.Precision;
using MixFit.Tests.Cli;
using MixFit.Tests.Support;
using MixFit.Tracking.Store;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Integration.Tracking;

/// <summary>Real file systems: a store on a full disk, and a store on a read-only mount.</summary>
public sealed class MountedStoreTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-mounted-").FullName;
    private readonly List<string> mounted = new();

    public void Dispose()
    {
        foreach (var mount in Enumerable.Reverse(mounted))
        {
            Mounts.Run("umount", mount);
        }

        Directory.Delete(dir, recursive: true);
    }

    private string P(string name) => Path.Combine(dir, name);

    private string Mount(string target, params string[] args)
    {
        Directory.CreateDirectory(target);
        Assert.True(Mounts.Run("mount", args.Append(target).ToArray()), $"mount {string.Join(' ', args)} {target} failed");
        mounted.Add(target);
        return target;
    }

    [MountFact]
    public void Training_goes_on_when_the_store_disk_fills_up_and_the_full_store_still_lists()
    {
        // A 1 MB disk: the store starts there, then the disk is filled to the last byte.
        string disk = Mount(P("disk"), "-t", "tmpfs", "-o", "size=1m", "tmpfs");
        string root = Path.Combine(disk, "store");
        var store = RunStore.Open(root);
        var (x, y) = TinyProblems.FashionMnist(256);
        using var trainer = new Trainer(TinyProblems.Mlp(3), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16 });
        string checkpoint = P("elsewhere/last.ckpt.safetensors");
        var errors = new StringWriter();
        var originalError = Console.Error;
        Console.SetError(errors);
        try
        {
            using var tracking = new TrackingCallback(store, "full-disk", captureConsole: false);
            var fill = new LambdaCallback
            {
                EpochEnd = (epoch, _) =>
                {
                    if (epoch == 0)
                    {
                        using var filler = new FileStream(Path.Combine(disk, "filler"), FileMode.Create);
                        try
                        {
                            filler.Write(new byte[2 << 20]);
                            filler.Flush();
                        }
                        catch (IOException)
                        {
                            // The disk is full now.
                        }
                    }
                },
            };
            var history = trainer.Fit(x, y, new FitOptions
            {
                Epochs = 3, BatchSize = 32, Verbose = 0, Callbacks = new Callback[] { tracking, fill, new ModelCheckpoint(checkpoint) },
            });
            Assert.Equal(new[] { 0, 1, 2 }, history.Epochs);
        }
        finally
        {
            Console.SetError(originalError);
        }

        Assert.True(File.Exists(checkpoint), "checkpoints elsewhere are still written");
        Assert.Contains("Training continues", errors.ToString());
        Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("mixfit: tracking", StringComparison.Ordinal));
        var run = RunStore.OpenReadOnly(root).List().Single();
        Assert.Equal("full-disk", run.Name);
        var list = CliRunner.Run("runs", "list", "--store", root);
        Assert.True(list.ExitCode == 0, list.Error);
        Assert.Contains(run.Id, list.Output);
    }

    [MountFact]
    public void A_store_on_a_read_only_mount_serves_every_reading_command_and_refuses_writing_ones_in_one_line()
    {
        var store = RunStore.Open(P("store"));
        foreach (var name in new[] { "a", "b" })
        {
            var run = store.StartRun(name, new System.Text.Json.Nodes.JsonObject { ["policy"] = name == "a" ? "float32" : "mixed_bfloat16" });
            run.Log("step", 0, new Dictionary<string, double> { ["loss"] = 1, ["ms_per_step"] = name == "a" ? 40 : 20 });
            run.Log("epoch", 0, new Dictionary<string, double> { ["loss"] = 1, ["epoch_seconds"] = 2 });
            run.UpdateSummary(new Dictionary<string, double> { ["loss"] = 1, ["ms_per_step"] = name == "a" ? 40 : 20 });
            run.Finish();
            run.Dispose();
        }

        var ids = store.List().Select(r => r.Id).ToArray();
        string readOnly = Mount(P("ro"), "-o", "bind,ro", P("store"));
        Assert.False(Mounts.Run("touch", Path.Combine(readOnly, "probe")), "the mount is writable");

        foreach (var args in new[]
        {
            new[] { "runs", "list" },
            new[] { "runs", "show", ids[0] },
            new[] { "runs", "compare", ids[0], ids[1] },
            new[] { "runs", "export", ids[0], "--format", "csv", "-o", P("export.csv") },
            new[] { "report", ids[0], ids[1], "-o", P("report.html") },
        })
        {
            var result = CliRunner.Run(args.Append("--store").Append(readOnly).ToArray());
            Assert.True(result.ExitCode == 0, $"{string.Join(' ', args)}: {result.Error}");
        }

        Assert.True(File.Exists(P("export.csv")) && File.Exists(P("report.html")));
        var delete = CliRunner.Run("runs", "delete", ids[0], "--store", readOnly);
        Assert.Equal(2, delete.ExitCode);
        string line = Assert.Single(delete.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(readOnly, line);
        Assert.Contains("cannot be written", line);
        Assert.Equal(2, RunStore.OpenReadOnly(readOnly).List().Count);
    }

    [MountFact]
    public void An_import_that_fails_midway_leaves_neither_a_folder_nor_an_index_row()
    {
        // The source run holds a 3 MB artifact; the target store lives on a 2 MB disk, so the copy fails midway.
        var source = RunStore.Open(P("source"));
        var run = source.StartRun("big");
        run.Log("step", 0, new Dictionary<string, double> { ["loss"] = 1 });
        run.Finish();
        run.Dispose();
        File.WriteAllBytes(Path.Combine(run.Folder, "artifacts", "weights.bin"), new byte[3 << 20]);

        string disk = Mount(P("small"), "-t", "tmpfs", "-o", "size=2m", "tmpfs");
        var target = RunStore.Open(Path.Combine(disk, "store"));
        Assert.ThrowsAny<IOException>(() => target.Import(run.Folder));
        Assert.Empty(Directory.GetFileSystemEntries(target.RunsDirectory));
        Assert.Empty(target.List());
        Assert.Empty(target.Metrics(run.Id, "step"));
    }
}
