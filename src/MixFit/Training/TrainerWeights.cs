using MixFit.Checkpoints;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>
/// Keras' <c>get_weights</c> / <c>set_weights</c> / <c>save_weights</c> / <c>load_weights</c> and full checkpoints
/// for a compiled <see cref="Trainer"/>, built on its public seams only: <see cref="Trainer.Precision"/> (the float32
/// weights and the precision state) and <see cref="Trainer.Optimizer"/>. Call them as instance methods
/// (<c>trainer.SaveCheckpoint(path, epoch)</c>).
/// </summary>
public static class TrainerWeights
{
    /// <summary>Copies of the model's weights in their variable dtype (float32 masters under mixed policies), by name.</summary>
    /// <exception cref="InvalidOperationException">Not compiled yet.</exception>
    public static Dictionary<string, Tensor> GetWeights(this Trainer trainer)
    {
        var precision = Compiled(trainer).Precision;
        using var scope = NewDisposeScope();
        return precision.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
    }

    /// <summary>Loads weights by name (from any policy's run).</summary>
    /// <exception cref="ArgumentException">Missing, unexpected or mis-shaped entries, all listed.</exception>
    public static void SetWeights(this Trainer trainer, IReadOnlyDictionary<string, Tensor> weights) =>
        Compiled(trainer).Precision.LoadStateDict(weights);

    /// <summary>Writes a full checkpoint atomically (<see cref="TrainingCheckpoint"/>: weights, optimizer, loss scale, epoch, RNG).</summary>
    /// <param name="trainer">The compiled trainer.</param>
    /// <param name="path">The file.</param>
    /// <param name="epoch">The epoch completed, or the epoch stopped inside when <paramref name="step"/> is given.</param>
    /// <param name="step">Steps of <paramref name="epoch"/> completed (an interrupted fit), or null for a complete epoch.</param>
    public static void SaveCheckpoint(this Trainer trainer, string path, int epoch, int? step = null) =>
        TrainingCheckpoint.Save(path, Compiled(trainer).Precision, trainer.Optimizer!, epoch, step, Others(trainer));

    /// <summary>Restores a checkpoint written by <see cref="SaveCheckpoint"/> into this compiled trainer.</summary>
    /// <exception cref="InvalidDataException">Not a MixFit checkpoint, or the model or optimizer does not match (every mismatch listed).</exception>
    /// <exception cref="InvalidOperationException">Loss scaling is enabled but the checkpoint has no loss-scale state.</exception>
    public static CheckpointInfo LoadCheckpoint(this Trainer trainer, string path) =>
        TrainingCheckpoint.Load(path, Compiled(trainer).Precision, trainer.Optimizer!, Others(trainer));

    /// <summary>Writes the float32 weights only (<see cref="WeightsFile"/>: safetensors for <c>.safetensors</c>, else TorchSharp's format). Atomic.</summary>
    public static void SaveWeights(this Trainer trainer, string path)
    {
        var precision = Compiled(trainer).Precision;
        using var scope = NewDisposeScope();
        WeightsFile.Save(path, precision.StateDict());
    }

    /// <summary>Loads weights written by <see cref="SaveWeights"/>, <c>Module.save</c> or any safetensors file with matching names.</summary>
    /// <exception cref="InvalidDataException">Missing, unexpected or mis-shaped entries, all listed with the file's name.</exception>
    public static void LoadWeights(this Trainer trainer, string path) =>
        WeightsFile.LoadInto(path, Compiled(trainer).Precision.LoadStateDict);

    /// <summary>The trainer's optimizers besides the compiled one (a custom step's, <see cref="Trainer.AddOptimizer"/>).</summary>
    private static Dictionary<string, MixFit.Optimizers.Optimizer> Others(Trainer trainer) =>
        trainer.Optimizers.Where(kv => !ReferenceEquals(kv.Value, trainer.Optimizer)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    private static Trainer Compiled(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        return trainer.Optimizer is null
            ? throw new InvalidOperationException("Call Compile() before training, evaluating, predicting or saving.")
            : trainer;
    }
}
