using System.Globalization;
using System.Text.Json;
using MixFit.Optimizers;
using MixFit.Precision;
using static TorchSharp.torch;

namespace MixFit.Checkpoints;

/// <summary>
/// The full-checkpoint format (<c>mixfit-checkpoint</c>, version 1): one safetensors file holding the float32 weights
/// (<c>model.*</c>), the optimizer state (<c>optimizer.*</c>) and the CPU RNG state (<c>rng.cpu</c>), with metadata
/// for the epoch, the policy, the optimizer's type and host-side scalars, and the precision strategy's loss-scaler
/// state. Written atomically; loadable into a trainer under any policy.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>The <c>format</c> metadata value that marks a MixFit checkpoint.</summary>
    public const string Format = "mixfit-checkpoint";

    /// <summary>Writes a checkpoint of <paramref name="precision"/>'s model and state and <paramref name="optimizer"/> after <paramref name="epoch"/> (0-based).</summary>
    /// <exception cref="IOException">The file could not be written (any previous file at <paramref name="path"/> is intact).</exception>
    public static void Save(string path, PrecisionStrategy precision, Optimizer optimizer, int epoch)
    {
        ArgumentNullException.ThrowIfNull(precision);
        ArgumentNullException.ThrowIfNull(optimizer);
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, value) in precision.StateDict())
        {
            tensors["model." + name] = value;
        }

        foreach (var (name, value) in optimizer.StateDict())
        {
            tensors["optimizer." + name] = value;
        }

        tensors["rng.cpu"] = get_rng_state();
        var state = precision.GetState();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["version"] = "1",
            ["epoch"] = epoch.ToString(CultureInfo.InvariantCulture),
            ["policy"] = state.Policy,
            ["optimizer"] = optimizer.GetType().Name,
            ["optimizer.scalars"] = JsonSerializer.Serialize(optimizer.GetScalars()),
        };
        if (state.LossScaler is { } scaler)
        {
            metadata["loss_scaler"] = JsonSerializer.Serialize(scaler);
        }

        SafeTensors.Save(path, tensors, metadata);
    }

    /// <summary>Restores a checkpoint written by <see cref="Save"/> into <paramref name="precision"/>'s model and <paramref name="optimizer"/>.</summary>
    /// <exception cref="InvalidDataException">Not a MixFit checkpoint, or the model or optimizer does not match (every mismatch listed).</exception>
    /// <exception cref="InvalidOperationException">Loss scaling is enabled but the checkpoint has no loss-scale state.</exception>
    public static CheckpointInfo Load(string path, PrecisionStrategy precision, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(precision);
        ArgumentNullException.ThrowIfNull(optimizer);
        var (tensors, metadata) = SafeTensors.Load(path);
        try
        {
            if (!metadata.TryGetValue("format", out var format) || format != Format)
            {
                throw new InvalidDataException($"{path}: not a MixFit checkpoint (metadata format is \"{format}\", expected \"{Format}\").");
            }

            Dictionary<string, Tensor> Part(string prefix) =>
                tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);

            Rethrow(path, "model weights", () => precision.LoadStateDict(Part("model.")));
            Rethrow(path, "optimizer state", () => optimizer.LoadStateDict(Part("optimizer.")));
            if (metadata.TryGetValue("optimizer.scalars", out var scalars))
            {
                optimizer.SetScalars(JsonSerializer.Deserialize<Dictionary<string, double>>(scalars)!);
            }

            string policy = metadata.GetValueOrDefault("policy", "float32");
            var scaler = metadata.TryGetValue("loss_scaler", out var json) ? JsonSerializer.Deserialize<LossScalerState>(json) : null;
            precision.LoadState(new PrecisionState(policy, scaler));
            if (tensors.TryGetValue("rng.cpu", out var rng))
            {
                set_rng_state(rng);
            }

            int epoch = int.Parse(metadata["epoch"], CultureInfo.InvariantCulture);
            return new CheckpointInfo(epoch, policy, scaler);
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>Turns a state-dict mismatch into an error that names the file and the part.</summary>
    internal static void Rethrow(string path, string what, Action load)
    {
        try
        {
            load();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: the {what} do not fit this model. {e.Message}", e);
        }
    }
}
