using System.Collections;
using System.IO.Compression;
using MixFit.Checkpoints;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MixFit.Applications;

/// <summary>
/// Loads weights a user already has (never downloads): torchvision/PyTorch state dicts saved as safetensors or with
/// <c>torch.save</c> (.pt/.pth), and MixFit checkpoints. Shapes are checked before anything is copied, every
/// problem is reported by key in one message, and half-precision files are converted into the module's dtype.
/// </summary>
/// <remarks>
/// Load into the model before compiling it under a mixed policy, so the float32 master weights are made from the
/// exact file values.
/// </remarks>
public static class WeightLoader
{
    /// <summary>Reads every tensor of a weight file (CPU, outside any dispose scope). The caller disposes them.</summary>
    /// <exception cref="InvalidDataException">Not a safetensors, torch.save or MixFit file; the message names it.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Weight file not found: {path}", path);
        }

        if (IsZip(path))
        {
            // torch.save's format: a zip with a pickled state dict.
            System.Collections.Hashtable table;
            try
            {
                table = PyTorchUnpickler.UnpickleStateDict(path);
            }
            catch (Exception e) when (e is not OutOfMemoryException and not InvalidDataException)
            {
                throw new InvalidDataException($"{path}: not a readable torch.save state dict ({e.GetType().Name}: {e.Message}).", e);
            }

            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (DictionaryEntry entry in table)
            {
                if (entry.Value is Tensor tensor)
                {
                    result[(string)entry.Key] = tensor.DetachFromDisposeScope();
                }
            }

            return result;
        }

        var (tensors, metadata) = SafeTensors.Load(path);
        if (metadata.TryGetValue("format", out var format) && format == "mixfit-checkpoint")
        {
            var weights = tensors.Where(kv => kv.Key.StartsWith("model.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["model.".Length..], kv => kv.Value);
            foreach (var other in tensors.Where(kv => !kv.Key.StartsWith("model.", StringComparison.Ordinal)))
            {
                other.Value.Dispose();
            }

            return weights;
        }

        return tensors;
    }

    /// <summary>Loads <paramref name="path"/> into <paramref name="module"/> (names as in its <c>state_dict</c>).</summary>
    /// <exception cref="InvalidDataException">Strict and the file does not fit; the message lists every missing, unexpected and mis-shaped key.</exception>
    public static WeightLoadReport Load(nn.Module module, string path, WeightLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        var weights = Read(path);
        try
        {
            return Apply(module.state_dict(), weights, options ?? new WeightLoadOptions(), path);
        }
        finally
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>Copies <paramref name="weights"/> into <paramref name="targets"/> by name after checking every key and shape.</summary>
    public static WeightLoadReport Apply(IReadOnlyDictionary<string, Tensor> targets, IReadOnlyDictionary<string, Tensor> weights, WeightLoadOptions options, string source)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(options);
        weights = Rename(weights, options.KeyPrefixes, source);
        var skipped = options.SkipClassifier
            ? weights.Keys.Where(k => options.ClassifierPrefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal))).ToHashSet()
            : new HashSet<string>();
        var missing = targets.Keys.Where(k => !weights.ContainsKey(k) && !(options.SkipClassifier && options.ClassifierPrefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal)))).ToList();
        var unexpected = weights.Keys.Where(k => !targets.ContainsKey(k) && !skipped.Contains(k)).ToList();
        var mismatched = targets.Where(kv => weights.TryGetValue(kv.Key, out var w) && !skipped.Contains(kv.Key) && !w.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: file [{string.Join(",", weights[kv.Key].shape)}] vs module [{string.Join(",", kv.Value.shape)}]").ToList();
        var loadable = targets.Keys.Where(k => weights.ContainsKey(k) && !skipped.Contains(k) && weights[k].shape.SequenceEqual(targets[k].shape)).ToList();
        var report = new WeightLoadReport(loadable, missing, unexpected, mismatched, skipped.Order(StringComparer.Ordinal).ToList());
        if (options.Strict && !report.IsComplete)
        {
            throw new InvalidDataException($"{source}: the weights do not fit the model (strict loading). {report}");
        }

        using var _ = no_grad();
        foreach (var key in loadable)
        {
            targets[key].copy_(weights[key]);
        }

        return report;
    }

    /// <summary>The file's keys renamed by the longest matching prefix of <paramref name="prefixes"/>.</summary>
    /// <exception cref="InvalidDataException">Two keys end up with the same name.</exception>
    private static IReadOnlyDictionary<string, Tensor> Rename(IReadOnlyDictionary<string, Tensor> weights, IReadOnlyDictionary<string, string> prefixes, string source)
    {
        if (prefixes.Count == 0)
        {
            return weights;
        }

        var ordered = prefixes.OrderByDescending(p => p.Key.Length).ToList();
        var renamed = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in weights)
        {
            var match = ordered.FirstOrDefault(p => key.StartsWith(p.Key, StringComparison.Ordinal));
            string name = match.Key is null ? key : match.Value + key[match.Key.Length..];
            if (!renamed.TryAdd(name, tensor))
            {
                throw new InvalidDataException($"{source}: the key prefixes map two keys onto \"{name}\".");
            }
        }

        return renamed;
    }

    private static bool IsZip(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return stream.Read(magic) == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
    }
}
