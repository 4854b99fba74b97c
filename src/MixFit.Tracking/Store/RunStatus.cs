namespace MixFit.Tracking.Store;

/// <summary>The life-cycle state of a run.</summary>
public enum RunStatus
{
    /// <summary>Logging (or its process died and nobody has noticed yet).</summary>
    Running,

    /// <summary>Finished normally.</summary>
    Finished,

    /// <summary>Ended by an error in the training code.</summary>
    Failed,

    /// <summary>Stopped by the user (Ctrl+C).</summary>
    Killed,

    /// <summary>Its process died without finishing (detected from its heartbeat when the store was next opened).</summary>
    Crashed,
}
