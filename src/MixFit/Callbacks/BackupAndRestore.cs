using MixFit.Training;

namespace MixFit.Callbacks;

/// <summary>
/// Makes a fit resumable after an interruption (Keras' <c>BackupAndRestore</c>): a full checkpoint is written to
/// <see cref="BackupDirectory"/> at every epoch end, and when the fit is interrupted (Ctrl+C: <see cref="Training.StopReason.Interrupted"/>)
/// inside an epoch, with the position there; when a fit starts and a backup exists, it is restored (weights, optimizer,
/// loss scale, RNG) and training continues where it stopped: the next epoch, or the next step of the interrupted one.
/// A fit that completes deletes the backup.
/// </summary>
/// <remarks>
/// Resuming is bit-identical on a CPU: the data order of each epoch derives from the seed and the epoch, and the
/// checkpoint holds everything else that changes. The backup is written atomically, so a crash while writing leaves
/// the previous epoch's backup intact.
/// </remarks>
public sealed class BackupAndRestore : Callback
{
    /// <inheritdoc />
    public override int Order => RestoreOrder;

    /// <summary>Creates the callback.</summary>
    /// <param name="backupDirectory">Folder for the backup (created when needed).</param>
    /// <param name="deleteOnCompletion">Delete the backup when the fit completes. Default true.</param>
    public BackupAndRestore(string backupDirectory, bool deleteOnCompletion = true)
    {
        BackupDirectory = backupDirectory ?? throw new ArgumentNullException(nameof(backupDirectory));
        DeleteOnCompletion = deleteOnCompletion;
    }

    /// <summary>Where the backup lives.</summary>
    public string BackupDirectory { get; }

    /// <summary>Whether a completed fit deletes the backup.</summary>
    public bool DeleteOnCompletion { get; }

    /// <summary>The backup file.</summary>
    public string BackupPath => Path.Combine(BackupDirectory, "latest.ckpt.safetensors");

    /// <summary>The epoch restored from at the last train begin (0-based), or null when starting fresh.</summary>
    public int? RestoredEpoch { get; private set; }

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs)
    {
        RestoredEpoch = null;
        if (File.Exists(BackupPath))
        {
            var info = Context.Trainer.LoadCheckpoint(BackupPath);
            RestoredEpoch = info.Epoch;
            RestoredStep = info.Step;
            var (epoch, step) = info.ResumeAt;
            if (epoch > Context.InitialEpoch || (epoch == Context.InitialEpoch && step > Context.InitialStep))
            {
                Context.InitialEpoch = epoch;
                Context.InitialStep = step;
            }
        }
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) =>
        Context.Trainer.SaveCheckpoint(BackupPath, epoch);

    /// <summary>The step of <see cref="RestoredEpoch"/> restored from (an interrupted epoch), or null.</summary>
    public int? RestoredStep { get; private set; }

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (Context.InterruptedAt is { } at)
        {
            Context.Trainer.SaveCheckpoint(BackupPath, at.Epoch, at.Step);
            return;
        }

        if (Context.StopReason == Training.StopReason.Interrupted)
        {
            // Interrupted at an epoch boundary: the epoch-end backup is the position.
            return;
        }

        if (DeleteOnCompletion && File.Exists(BackupPath))
        {
            File.Delete(BackupPath);
        }
    }
}
