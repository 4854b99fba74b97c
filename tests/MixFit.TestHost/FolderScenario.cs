using System.Diagnostics;
using MixFit.Applications;
using MixFit.Callbacks;
using MixFit.Data;
using MixFit.Data.Transforms;
using MixFit.Precision;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.TestHost;

/// <summary>
/// A fit on an image folder (CSV + PNGs) with a shuffled order and random augmentation decoded by two workers: run in
/// separate processes with the same seed it must give the same bits, and resumed after SIGKILL too.
/// </summary>
public static class FolderScenario
{
    public const int Epochs = 3;

    /// <summary>Trains on <paramref name="folder"/> (train.csv + images/) with a backup in <paramref name="backupDirectory"/>; kills itself after epoch <paramref name="killAfter"/> when given.</summary>
    public static Dictionary<string, Tensor> Run(string folder, string backupDirectory, int? killAfter = null)
    {
        Session.Clear(seed: 5);
        var dataset = ImageDataset.FromCsv(Path.Combine(folder, "train.csv"), Path.Combine(folder, "images"));
        var pipeline = new ImagePipeline(dataset, new ImagePipelineOptions
        {
            BatchSize = 16, Seed = 9, Channels = 1, Workers = 2,
            Transforms = new ImageTransform[] { new RandomHorizontalFlip(), new RandomRotation(15) },
        });
        using var trainer = new Trainer(SmallCnn.Create(), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16, ModuleOverrides = new Dictionary<string, DTypePolicy> { ["fc2"] = DTypePolicy.Float32 } });
        var callbacks = new List<Callback> { new BackupAndRestore(backupDirectory) };
        if (killAfter is { } after)
        {
            callbacks.Add(new LambdaCallback { EpochEnd = (epoch, _) => { if (epoch == after) { Process.GetCurrentProcess().Kill(); } } });
        }

        trainer.Fit(pipeline, new FitOptions { Epochs = Epochs, Verbose = 0, Callbacks = callbacks });
        return trainer.GetWeights();
    }
}
