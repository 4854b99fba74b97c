using static TorchSharp.torch;

namespace MixFit.Checkpoints;

/// <summary>Compares a saved state with the one it must load into and lists every problem by name.</summary>
public static class StateDictCheck
{
    /// <summary>Missing keys, unexpected keys and shape mismatches, one line each (empty when compatible).</summary>
    public static IReadOnlyList<string> Problems(IReadOnlyDictionary<string, Tensor> targets, IReadOnlyDictionary<string, Tensor> source)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(source);
        var problems = new List<string>();
        foreach (var name in targets.Keys.Where(k => !source.ContainsKey(k)))
        {
            problems.Add($"missing: {name}");
        }

        foreach (var name in source.Keys.Where(k => !targets.ContainsKey(k)))
        {
            problems.Add($"unexpected: {name}");
        }

        foreach (var (name, target) in targets)
        {
            if (source.TryGetValue(name, out var value) && !value.shape.SequenceEqual(target.shape))
            {
                problems.Add($"shape mismatch: {name} is [{string.Join(",", value.shape)}] in the source, the model expects [{string.Join(",", target.shape)}]");
            }
        }

        return problems;
    }

    /// <summary>Throws with every problem listed when the states are not compatible.</summary>
    /// <exception cref="ArgumentException">Incompatible; the message names every key at fault.</exception>
    public static void ThrowIfIncompatible(string what, IReadOnlyDictionary<string, Tensor> targets, IReadOnlyDictionary<string, Tensor> source)
    {
        var problems = Problems(targets, source);
        if (problems.Count > 0)
        {
            throw new ArgumentException($"{what} does not match ({problems.Count} problem(s)):{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", problems)}");
        }
    }

    /// <summary>Checks, then copies every source tensor into its target (converting dtype and device) without recording gradients.</summary>
    public static void Copy(string what, IReadOnlyDictionary<string, Tensor> targets, IReadOnlyDictionary<string, Tensor> source)
    {
        ThrowIfIncompatible(what, targets, source);
        using var _ = no_grad();
        foreach (var (name, target) in targets)
        {
            target.copy_(source[name]);
        }
    }
}
