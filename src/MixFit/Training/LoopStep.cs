namespace MixFit.Training;

/// <summary>
/// What the loop hands the built-in steps for one batch: the loop's logs, whether to validate targets (the first
/// batch), and for a training step its options, whether it ends an accumulation group and the class weights.
/// </summary>
internal sealed record LoopStep(LogAccumulator Logs, bool ValidateTargets, FitOptions Options, bool Boundary = true, ClassWeightTable? ClassWeights = null);
