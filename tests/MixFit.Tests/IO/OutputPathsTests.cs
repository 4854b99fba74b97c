using System.Security.Cryptography;
using MixFit.IO;
using MixFit.Tests.Cli;

namespace MixFit.Tests.IO;

/// <summary>Outputs never clobber inputs: a command refuses, in one line and before writing, an output that is one of its inputs or the store's own file.</summary>
public sealed class OutputPathsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-outputs-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string name) => Path.Combine(dir, name);

    private static string Hash(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));

    [Fact]
    public void Resolve_follows_links_in_the_file_and_in_the_folders_above_it()
    {
        Directory.CreateDirectory(P("real"));
        File.WriteAllText(P("real/data.csv"), "image\n");
        Directory.CreateSymbolicLink(P("alias"), P("real"));
        File.CreateSymbolicLink(P("link.csv"), P("alias/data.csv"));
        Assert.Equal(P("real/data.csv"), OutputPaths.Resolve(P("link.csv")));
        Assert.Equal(P("real/new.csv"), OutputPaths.Resolve(P("alias/new.csv")));
        Assert.Equal(P("real/data.csv"), OutputPaths.Resolve(P("alias/../alias/data.csv")));
        // A ".." after a link goes up from where the link points, as the kernel does: alias/.. is real/.., not dir.
        Directory.CreateDirectory(P("real/sub"));
        Directory.CreateSymbolicLink(P("deep"), P("real/sub"));
        Assert.Equal(P("real/data.csv"), OutputPaths.Resolve(P("deep/../data.csv")));
        var error = Assert.Throws<ArgumentException>(() => OutputPaths.Refuse(P("link.csv"), "-o", new (string?, string)[] { (P("real/data.csv"), "the --data CSV") }));
        Assert.Contains("-o " + P("link.csv") + " is the --data CSV", error.Message);
    }

    [Fact]
    public void Predict_report_and_runs_export_refuse_their_inputs_and_the_stores_files_and_change_nothing()
    {
        Assert.Equal(0, CliRunner.Run("datasets", "export", "fashion-mnist", "--split", "test", "--out", P("fm"), "--count", "40").ExitCode);
        var train = CliRunner.Run("train", "--limit", "128", "--epochs", "1", "--batch-size", "64", "--checkpoint-dir", P("ckpt"), "--store", P("store"), "--verbose", "0");
        Assert.True(train.ExitCode == 0, train.Error);
        string csv = P("fm/test.csv"), checkpoint = P("ckpt/last.ckpt.safetensors"), spec = P("ckpt/mixfit-model.json"), index = P("store/mixfit.db");
        File.CreateSymbolicLink(P("link-to-data.csv"), csv);
        var protectedFiles = new[] { csv, checkpoint, spec, index };
        var before = protectedFiles.ToDictionary(f => f, Hash);
        string runId = Directory.GetDirectories(P("store/runs")).Select(Path.GetFileName).Single()!;

        void Refused(string expected, params string[] args)
        {
            var (code, output, error) = CliRunner.Run(args);
            Assert.True(code == 2, $"mixfit {string.Join(' ', args)}: exit {code}, {error}{output}");
            Assert.Single(error.Trim().Split('\n'));
            Assert.Contains(expected, error);
        }

        string[] Predict(string output) => new[] { "predict", "--checkpoint", checkpoint, "--data", csv, "-o", output };
        Refused("is the --data CSV", Predict(csv));
        Refused("is the --data CSV", Predict(P("link-to-data.csv")));
        Refused("is the --checkpoint file", Predict(checkpoint));
        Refused("is a file of the checkpoint's folder", Predict(spec));
        Refused("is inside the images folder", Predict(P("fm/images/predictions.csv")));
        Refused("one of the run store's own files", "report", runId, "-o", index, "--store", P("store"));
        Refused("one of the run store's own files", "report", runId, "-o", P("store/runs"), "--store", P("store"));
        Refused("one of the run store's own files", "runs", "export", runId, "--format", "csv", "-o", index, "--store", P("store"));
        Refused("one of the run store's own files", "runs", "export", runId, "--format", "json", "-o", P($"store/runs/{runId}/run.json"), "--store", P("store"));

        Assert.Equal(before, protectedFiles.ToDictionary(f => f, Hash));
        Assert.Equal(0, CliRunner.Run("runs", "list", "--store", P("store")).ExitCode);
        // The ordinary uses still work: a new file, and the default TensorBoard export into the run's own folder.
        Assert.Equal(0, CliRunner.Run(Predict(P("predictions.csv"))).ExitCode);
        Assert.Equal(41, File.ReadAllLines(P("predictions.csv")).Length);
        foreach (var _ in new[] { 1, 2 })
        {
            // A new file beside the checkpoint is fine, and so is writing it again.
            Assert.Equal(0, CliRunner.Run(Predict(P("ckpt/predictions.csv"))).ExitCode);
        }

        var tensorboard = CliRunner.Run("runs", "export", runId, "--store", P("store"));
        Assert.True(tensorboard.ExitCode == 0, tensorboard.Error);
    }

    [Fact]
    public void Compare_refuses_a_report_folder_inside_the_run_store_before_training()
    {
        var options = new MixFit.Experiments.CompareOptions
        {
            Output = P("store/runs"),
            Train = new MixFit.Experiments.TrainJobOptions { Store = P("store"), Limit = 64, Epochs = 1 },
        };
        var error = Assert.Throws<ArgumentException>(() => MixFit.Experiments.PolicyComparison.Run(options, TextWriter.Null));
        Assert.Contains("one of the run store's own files or folders", error.Message);
        Assert.False(Directory.Exists(P("store")), "nothing was trained, recorded or locked");
    }
}
