using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Checkpoints;

/// <summary>
/// Weights-only files: safetensors when the name ends in <c>.safetensors</c>, otherwise TorchSharp's own format
/// (readable by <c>Module.load</c>: a 7-bit-encoded count, then name and tensor pairs). Writes are atomic.
/// </summary>
public static class WeightsFile
{
    /// <summary>Whether <paramref name="path"/> names a safetensors file.</summary>
    public static bool IsSafeTensors(string path) => path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);

    /// <summary>Writes <paramref name="weights"/> to <paramref name="path"/> (any previous file stays intact on failure).</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> weights)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(weights);
        if (IsSafeTensors(path))
        {
            SafeTensors.Save(path, weights);
            return;
        }

        MixFit.IO.AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            writer.Write7BitEncodedInt64(weights.Count);
            foreach (var (name, value) in weights)
            {
                writer.Write(name);
                value.detach().cpu().Save(writer);
            }
        });
    }

    /// <summary>Reads every tensor of <paramref name="path"/>, outside any dispose scope; the caller disposes them.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static Dictionary<string, Tensor> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (IsSafeTensors(path))
        {
            return SafeTensors.Load(path).Tensors;
        }

        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            long count = reader.Read7BitEncodedInt64();
            for (long i = 0; i < count; i++)
            {
                string name = reader.ReadString();
                weights[name] = TensorExtensionMethods.Load(reader).DetachFromDisposeScope();
            }

            return weights;
        }
        catch
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }

            throw;
        }
    }

    /// <summary>Reads <paramref name="path"/>, hands the tensors to <paramref name="load"/> and frees them.</summary>
    /// <exception cref="InvalidDataException"><paramref name="load"/> refused the tensors (mismatched names or shapes): the message names the file.</exception>
    public static void LoadInto(string path, Action<IReadOnlyDictionary<string, Tensor>> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        var weights = Load(path);
        try
        {
            TrainingCheckpoint.Rethrow(path, "weights", () => load(weights));
        }
        finally
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }
        }
    }
}
