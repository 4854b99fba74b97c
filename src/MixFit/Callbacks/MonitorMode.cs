namespace MixFit.Callbacks;

/// <summary>Whether a monitored quantity should go down or up; <see cref="Auto"/> infers it from the name.</summary>
public enum MonitorMode
{
    /// <summary>Maximise names containing <c>acc</c> (accuracy, val_accuracy), minimise everything else (Keras).</summary>
    Auto,

    /// <summary>Lower is better.</summary>
    Min,

    /// <summary>Higher is better.</summary>
    Max,
}
