using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>
/// What happened to one optimizer in one iteration: applied, or skipped because a gradient was inf or NaN.
/// A skipped step is an ordinary outcome, never an exception.
/// </summary>
/// <remarks>
/// The decision lives on the device (<see cref="OverflowFlag"/>) so the training step never waits for it; read
/// <see cref="IsSkipped"/> only when you need the answer on the host (it synchronises), e.g. when logging.
/// The flag belongs to the dispose scope that was open during the step.
/// </remarks>
public sealed class StepOutcome
{
    internal StepOutcome(Tensor? overflowFlag) => OverflowFlag = overflowFlag;

    /// <summary>An applied step whose gradients were not checked (loss scaling disabled).</summary>
    public static StepOutcome Unchecked { get; } = new(null);

    /// <summary>0-dim float32 tensor on the device, non-zero when the step was skipped; null when not checked.</summary>
    public Tensor? OverflowFlag { get; }

    /// <summary>Whether the step was skipped. Synchronises with the device.</summary>
    public bool IsSkipped() => OverflowFlag is not null && MixFit.Kernels.HostReads.Item<float>(OverflowFlag) != 0;
}
