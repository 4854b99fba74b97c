using MixFit.Precision;

namespace MixFit.Experiments;

/// <summary>Whether <c>mixfit compare</c> trains a policy, from its measured training step.</summary>
/// <param name="Policy">The policy.</param>
/// <param name="MsPerStep">Its measured step, in milliseconds (null: not measured, e.g. with <c>--force</c>).</param>
/// <param name="SpeedUp">float32's step divided by this one (null without a float32 measurement).</param>
/// <param name="Run">Whether it is trained.</param>
/// <param name="Reason">Why, in words (names the limit and how to override it when skipped).</param>
public sealed record PolicyDecision(DTypePolicy Policy, double? MsPerStep, double? SpeedUp, bool Run, string Reason);
