using System.Text;
using MixFit.IO;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Experiments;

/// <summary>
/// Predicts the class of every image in a CSV with a trained checkpoint; writes <c>image,category</c> with the
/// original category ids and, when asked, one probability column per class (<c>p_&lt;category id&gt;</c>).
/// </summary>
public static class PredictionJob
{
    /// <summary>Runs the prediction; returns the number of images predicted.</summary>
    /// <exception cref="FileNotFoundException">The checkpoint, its model spec or the CSV is missing.</exception>
    /// <param name="checkpoint">A checkpoint written by a training job (its <c>mixfit-model.json</c> beside it).</param>
    /// <param name="csv">A CSV with an image column.</param>
    /// <param name="images">The images folder; null: <c>images/</c> beside the CSV.</param>
    /// <param name="output">The CSV to write.</param>
    /// <param name="log">Where the one-line summary goes.</param>
    /// <param name="batchSize">Prediction batch size. Default 64.</param>
    /// <param name="device">Where to run; null: auto.</param>
    /// <param name="probabilities">Also write each class's probability (softmax of the logits), 6 significant digits.</param>
    public static int Run(string checkpoint, string csv, string? images, string output, TextWriter log, int batchSize = 64, DeviceChoice? device = null, bool probabilities = false)
    {
        string imagesFolder = images ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(csv))!, "images");
        // Checked before any work: the output is none of the inputs, no file of the checkpoint's folder, nothing in the images folder.
        OutputPaths.Refuse(output, "-o", CheckpointFiles(checkpoint).Append((csv, "the --data CSV")), new (string?, string)[] { (imagesFolder, "the images folder") });
        var (spec, model) = ModelSpec.LoadTrained(checkpoint);
        using var trainer = new Trainer(model.Module, (device ?? DeviceChoice.Auto).Resolve());
        trainer.Compile(new CompileOptions { Policy = MixFit.Precision.DTypePolicy.Parse(spec.Policy), ModuleOverrides = model.PrecisionOverrides });
        var (pipeline, dataset) = ExperimentData.Unlabelled(csv, imagesFolder, spec.ImageSize, spec.Channels, batchSize, spec.Normalization);
        using var scope = NewDisposeScope();
        var scores = trainer.PredictProbabilities(pipeline);
        var classes = scores.argmax(1).data<long>().ToArray();
        int columns = (int)scores.shape[1];
        var values = probabilities ? scores.data<float>().ToArray() : Array.Empty<float>();
        var labels = spec.LabelMap;
        var text = new StringBuilder("image,category");
        for (int c = 0; probabilities && c < columns; c++)
        {
            text.Append(",p_").Append(labels.IdOf(c));
        }

        text.Append('\n');
        for (int i = 0; i < classes.Length; i++)
        {
            text.Append(dataset.Records[i].Name).Append(',').Append(labels.IdOf((int)classes[i]));
            for (int c = 0; probabilities && c < columns; c++)
            {
                text.Append(',').Append(values[(i * columns) + c].ToString("G6", System.Globalization.CultureInfo.InvariantCulture));
            }

            text.Append('\n');
        }

        string? folder = Path.GetDirectoryName(Path.GetFullPath(output));
        Directory.CreateDirectory(folder!);
        AtomicFile.WriteAllText(output, text.ToString());
        ArgumentNullException.ThrowIfNull(log);
        log.WriteLine($"Predicted {classes.Length} images with {spec.Model} ({spec.Policy}) into {output}.");
        return classes.Length;
    }

    /// <summary>
    /// The checkpoint and the files a checkpoint folder holds for it (the model spec, the run id, the folder's lock, every
    /// weights file): never an output. Other files beside it (earlier predictions, an exported model) may be rewritten.
    /// </summary>
    internal static IEnumerable<(string? Path, string What)> CheckpointFiles(string checkpoint)
    {
        yield return (checkpoint, "the --checkpoint file");
        string? folder = Path.GetDirectoryName(Path.GetFullPath(checkpoint));
        if (folder is null)
        {
            yield break;
        }

        foreach (var name in new[] { ModelSpec.FileName, ResumedRun.FileName, FolderLock.FileName })
        {
            yield return (Path.Combine(folder, name), "a file of the checkpoint's folder");
        }

        if (Directory.Exists(folder))
        {
            foreach (var weights in Directory.EnumerateFiles(folder, "*.safetensors"))
            {
                yield return (weights, "a file of the checkpoint's folder");
            }
        }
    }
}
