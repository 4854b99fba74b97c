using System.Text;
using MixFit.Applications;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Experiments;

/// <summary>Predicts the class of every image in a CSV with a trained checkpoint; writes <c>image,category</c> with the original category ids.</summary>
public static class PredictionJob
{
    /// <summary>Runs the prediction; returns the number of images predicted.</summary>
    /// <exception cref="FileNotFoundException">The checkpoint, its model spec or the CSV is missing.</exception>
    public static int Run(string checkpoint, string csv, string? images, string output, int batchSize = 64, string device = "auto")
    {
        if (!File.Exists(checkpoint))
        {
            throw new FileNotFoundException($"Checkpoint not found: {checkpoint}", checkpoint);
        }

        var spec = ModelSpec.LoadBeside(checkpoint);
        var (module, overrides, _) = spec.Build();
        WeightLoader.Load(module, checkpoint);
        using var trainer = new Trainer(module, TrainingJob.ResolveDevice(device));
        trainer.Compile(new CompileOptions { Policy = MixFit.Precision.DTypePolicy.Parse(spec.Policy), ModuleOverrides = overrides });
        var (pipeline, dataset) = ExperimentData.Unlabelled(csv, images ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(csv))!, "images"), spec.ImageSize, spec.Channels, batchSize);
        using var scope = NewDisposeScope();
        var classes = trainer.Predict(pipeline).argmax(1).data<long>().ToArray();
        var labels = spec.LabelMap;
        var text = new StringBuilder("image,category\n");
        for (int i = 0; i < classes.Length; i++)
        {
            text.Append(dataset.Records[i].Name).Append(',').Append(labels.IdOf((int)classes[i])).Append('\n');
        }

        string? folder = Path.GetDirectoryName(Path.GetFullPath(output));
        Directory.CreateDirectory(folder!);
        File.WriteAllText(output, text.ToString());
        Console.WriteLine($"Predicted {classes.Length} images with {spec.Model} ({spec.Policy}) into {output}.");
        return classes.Length;
    }
}
