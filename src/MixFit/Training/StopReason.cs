namespace MixFit.Training;

/// <summary>Why a fit stops before its last epoch; any callback can read it on <see cref="TrainingContext.StopReason"/>.</summary>
public enum StopReason
{
    /// <summary>Not stopping: the fit runs to its last epoch.</summary>
    None,

    /// <summary>A callback asked (early stopping, NaN loss, <see cref="TrainingContext.StopTraining"/> set to true).</summary>
    Requested,

    /// <summary>The user interrupted the run (Ctrl+C, a cancelled token): trackers record the run as killed.</summary>
    Interrupted,
}
