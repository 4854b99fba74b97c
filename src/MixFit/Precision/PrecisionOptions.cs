using MixFit.Kernels;

namespace MixFit.Precision;

/// <summary>Options of a <see cref="PrecisionStrategy"/> beyond its policy. JSON round-trips.</summary>
public sealed record PrecisionOptions
{
    /// <summary>Loss scaling; null means the policy's default (dynamic for <c>mixed_float16</c>, none otherwise).</summary>
    public LossScaleOptions? LossScale { get; init; }

    /// <summary>
    /// Per-module policies by module path (as in <c>named_modules()</c>, e.g. <c>fc</c> or <c>layer4.1</c>); they
    /// apply to the module and its descendants. Typical: the output layer in float32.
    /// </summary>
    public IReadOnlyDictionary<string, DTypePolicy> ModuleOverrides { get; init; } = new Dictionary<string, DTypePolicy>();

    /// <summary>Which kernels to use for scaling, master weights and clipping. Default <see cref="AmpKernelPreference.Auto"/>.</summary>
    public AmpKernelPreference Kernels { get; init; } = AmpKernelPreference.Auto;
}
