namespace MixFit.Kernels;

/// <summary>
/// The one rule that decides fused or managed kernels, for the AMP kernels (<see cref="AmpKernels.Select"/>) and for
/// every optimizer (<c>Optimizer</c>'s constructor, <c>CompileOptions.CreateOptimizer</c>): <see cref="AmpKernelPreference.Auto"/>
/// takes the fused kernels where this libtorch compiles them, <see cref="AmpKernelPreference.Fused"/> requires them
/// (an error naming what is missing where it cannot), <see cref="AmpKernelPreference.Managed"/> never uses them.
/// </summary>
public static class KernelChoice
{
    /// <summary>An optimizer's <c>fused</c> argument (null: auto) as a preference.</summary>
    public static AmpKernelPreference FromFused(bool? fused) => fused switch
    {
        true => AmpKernelPreference.Fused,
        false => AmpKernelPreference.Managed,
        null => AmpKernelPreference.Auto,
    };

    /// <summary>A preference as an optimizer's <c>fused</c> argument; an explicit <paramref name="fused"/> wins over it.</summary>
    public static bool? ToFused(AmpKernelPreference preference, bool? fused = null) =>
        fused ?? preference switch { AmpKernelPreference.Fused => true, AmpKernelPreference.Managed => false, _ => null };

    /// <summary>Whether to run fused kernels that are <paramref name="available"/>, under <paramref name="preference"/>.</summary>
    /// <exception cref="NotSupportedException">Fused kernels are required but not available; the message names <paramref name="what"/> and what to pass instead.</exception>
    public static bool UseFused(AmpKernelPreference preference, bool available, string what) => preference switch
    {
        AmpKernelPreference.Managed => false,
        AmpKernelPreference.Fused => available ? true : throw new NotSupportedException(
            $"The fused {what} is not available with this libtorch build (TorchScript compilation failed); use the automatic choice (AmpKernelPreference.Auto, fused: null) or the managed kernels."),
        _ => available,
    };
}
