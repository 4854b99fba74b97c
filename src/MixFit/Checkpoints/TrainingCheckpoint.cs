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
/// state. A custom step's further optimizers (<c>Trainer.AddOptimizer</c>) go under <c>optimizers.{name}.*</c> with
/// their type and scalars in the <c>optimizers</c> metadata, and their own loss scalers in <c>loss_scalers</c>.
/// Written atomically; loadable into a trainer under any policy.
/// </summary>
public static class TrainingCheckpoint
{
    private static readonly IReadOnlyDictionary<string, Optimizer> NoOthers = new Dictionary<string, Optimizer>();

    /// <summary>The <c>format</c> metadata value that marks a MixFit checkpoint.</summary>
    public const string Format = "mixfit-checkpoint";

    /// <summary>Writes a checkpoint of <paramref name="precision"/>'s model and state and <paramref name="optimizer"/> after <paramref name="epoch"/> (0-based).</summary>
    /// <param name="path">The file (written atomically).</param>
    /// <param name="precision">The prepared precision strategy (weights and loss-scale state).</param>
    /// <param name="optimizer">The optimizer (state and host-side scalars).</param>
    /// <param name="epoch">The epoch completed, or the epoch stopped inside when <paramref name="step"/> is given.</param>
    /// <param name="step">Steps of <paramref name="epoch"/> completed by an interrupted fit (Keras' <c>BackupAndRestore(save_freq=N)</c> position), or null.</param>
    /// <param name="others">Further optimizers by name (a custom step's), or null.</param>
    /// <exception cref="IOException">The file could not be written (any previous file at <paramref name="path"/> is intact).</exception>
    public static void Save(string path, PrecisionStrategy precision, Optimizer optimizer, int epoch, int? step = null, IReadOnlyDictionary<string, Optimizer>? others = null)
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

        foreach (var (owner, other) in others ?? NoOthers)
        {
            foreach (var (name, value) in other.StateDict())
            {
                tensors[$"optimizers.{owner}.{name}"] = value;
            }
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
        if (step is { } inside)
        {
            metadata["step"] = inside.ToString(CultureInfo.InvariantCulture);
        }
        if (state.LossScaler is { } scaler)
        {
            metadata["loss_scaler"] = JsonSerializer.Serialize(scaler);
        }

        if (state.Iterations is { } iterations)
        {
            metadata["iterations"] = iterations.ToString(CultureInfo.InvariantCulture);
        }

        if (others is { Count: > 0 })
        {
            metadata["optimizers"] = JsonSerializer.Serialize(others.ToDictionary(kv => kv.Key, kv => new SavedOptimizer(kv.Value.GetType().Name, kv.Value.GetScalars())));
        }

        if (state.OptimizerScalers is { Count: > 0 } own)
        {
            metadata["loss_scalers"] = JsonSerializer.Serialize(own);
        }

        SafeTensors.Save(path, tensors, metadata);
    }

    /// <summary>Restores a checkpoint written by <see cref="Save"/> into <paramref name="precision"/>'s model and <paramref name="optimizer"/>.</summary>
    /// <remarks>All or nothing: the weights, the optimizer state, the metadata and the loss-scale state are all checked
    /// before anything changes. A checkpoint saved without loss scaling starts an enabled scaler at its initial scale.</remarks>
    /// <exception cref="InvalidDataException">Not a MixFit checkpoint, malformed, or the model or an optimizer does not match (every mismatch listed).</exception>
    public static CheckpointInfo Load(string path, PrecisionStrategy precision, Optimizer optimizer, IReadOnlyDictionary<string, Optimizer>? others = null)
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

            // All or nothing: every part is checked before the model, the optimizer or the scaler changes.
            var model = Part("model.");
            var optimizerState = Part("optimizer.");
            Rethrow(path, "model weights", () => StateDictCheck.ThrowIfIncompatible("The state dict", precision.StateDict(), model));
            Rethrow(path, "optimizer state", () => StateDictCheck.ThrowIfIncompatible("The optimizer state", optimizer.StateDict(), optimizerState));
            var saved = tensors.Keys.Where(k => k.StartsWith("optimizers.", StringComparison.Ordinal)).Select(k => k.Split('.')[1]).ToHashSet(StringComparer.Ordinal);
            var mine = others ?? NoOthers;
            if (saved.Except(mine.Keys).Concat(mine.Keys.Where(k => mine[k].StateDict().Count > 0).Except(saved)).ToArray() is { Length: > 0 } unmatched)
            {
                throw new InvalidDataException(
                    $"{path}: the checkpoint's further optimizers ({(saved.Count == 0 ? "none" : string.Join(", ", saved.Order()))}) differ from the trainer's ({(mine.Count == 0 ? "none" : string.Join(", ", mine.Keys.Order()))}); add the same optimizers (Trainer.AddOptimizer) before loading.");
            }

            var otherStates = mine.ToDictionary(kv => kv.Key, kv => Part($"optimizers.{kv.Key}."), StringComparer.Ordinal);
            foreach (var (owner, other) in mine)
            {
                Rethrow(path, $"optimizer \"{owner}\" state", () => StateDictCheck.ThrowIfIncompatible($"The optimizer \"{owner}\" state", other.StateDict(), otherStates[owner]));
            }

            Dictionary<string, double>? scalars;
            LossScalerState? scaler;
            Dictionary<string, LossScalerState>? ownScalers;
            Dictionary<string, SavedOptimizer>? savedOthers;
            int epoch;
            int? step;
            long? iterations;
            try
            {
                scalars = metadata.TryGetValue("optimizer.scalars", out var text) ? JsonSerializer.Deserialize<Dictionary<string, double>>(text) : null;
                scaler = metadata.TryGetValue("loss_scaler", out var json) ? JsonSerializer.Deserialize<LossScalerState>(json) : null;
                ownScalers = metadata.TryGetValue("loss_scalers", out var owned) ? JsonSerializer.Deserialize<Dictionary<string, LossScalerState>>(owned) : null;
                savedOthers = metadata.TryGetValue("optimizers", out var listed) ? JsonSerializer.Deserialize<Dictionary<string, SavedOptimizer>>(listed) : null;
                epoch = int.Parse(metadata.TryGetValue("epoch", out var e) ? e : throw new InvalidDataException($"{path}: the checkpoint has no epoch."), CultureInfo.InvariantCulture);
                step = metadata.TryGetValue("step", out var st) ? int.Parse(st, CultureInfo.InvariantCulture) : null;
                iterations = metadata.TryGetValue("iterations", out var it) ? long.Parse(it, NumberStyles.None, CultureInfo.InvariantCulture) : null;
            }
            catch (Exception e) when (e is JsonException or FormatException or OverflowException)
            {
                throw new InvalidDataException($"{path}: malformed checkpoint metadata ({e.Message}).", e);
            }

            string policy = metadata.GetValueOrDefault("policy", "float32");
            var state = new PrecisionState(policy, scaler) { OptimizerScalers = ownScalers, Iterations = iterations };
            try
            {
                precision.CheckState(state);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{path}: the loss-scale state cannot be restored ({e.Message}).", e);
            }

            precision.LoadStateDict(model);
            optimizer.LoadStateDict(optimizerState);
            if (scalars is not null)
            {
                optimizer.SetScalars(scalars);
            }

            foreach (var (owner, other) in mine)
            {
                other.LoadStateDict(otherStates[owner]);
                if (savedOthers?.GetValueOrDefault(owner) is { } described)
                {
                    other.SetScalars(described.Scalars);
                }
            }

            precision.LoadState(state);
            if (tensors.TryGetValue("rng.cpu", out var rng))
            {
                set_rng_state(rng);
            }

            return new CheckpointInfo(epoch, policy, scaler, step);
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

    /// <summary>A further optimizer as the metadata describes it: its type and host-side scalars.</summary>
    private sealed record SavedOptimizer(string Type, IReadOnlyDictionary<string, double> Scalars);
}
