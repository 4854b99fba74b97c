using MixFit.IO;
using MixFit.Onnx;

namespace MixFit.Experiments;

/// <summary><c>mixfit export</c>: a training checkpoint (and the <c>mixfit-model.json</c> beside it) as an ONNX file with float32 weights.</summary>
public static class ExportJob
{
    /// <summary>Writes <paramref name="output"/>; returns the input shape of one sample ([channels, size, size]).</summary>
    /// <exception cref="FileNotFoundException">The checkpoint or its model spec is missing.</exception>
    /// <exception cref="NotSupportedException">The model has a layer MixFit cannot write (named).</exception>
    public static long[] Run(string checkpoint, string output, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (!string.Equals(Path.GetExtension(output), ".onnx", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"-o {output}: the file to write must end in .onnx.");
        }

        OutputPaths.Refuse(output, "-o", PredictionJob.CheckpointFiles(checkpoint));
        var (spec, model) = ModelSpec.LoadTrained(checkpoint);
        model.Module.eval();
        var sample = new long[] { spec.Channels, spec.ImageSize, spec.ImageSize };
        OnnxExporter.Export(model.Module, output, sample);
        log.WriteLine($"Exported {spec.Model} ({spec.Classes} classes, input [N,{string.Join(",", sample)}], {Pixels(spec)}, float32 weights) to {output}.");
        return sample;
    }

    /// <summary>What the file expects of its input pixels, as training fed them.</summary>
    private static string Pixels(ModelSpec spec)
    {
        var normalization = spec.Normalization;
        if (normalization is null || normalization.Mean.All(m => m == 0) && normalization.Std.All(s => s == 1))
        {
            return "pixels in [0, 1]";
        }

        static string List(IEnumerable<float> values) => string.Join(", ", values.Select(v => v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)));
        return $"pixels in [0, 1] then (x - [{List(normalization.Mean)}]) / [{List(normalization.Std)}] per channel, which the file does not do";
    }
}
