using MixFit.Kernels;

namespace MixFit.Tests.Kernels;

/// <summary>The one fused-or-managed rule, for the AMP kernels and the optimizers alike.</summary>
public sealed class KernelChoiceTests
{
    [Theory]
    [InlineData(AmpKernelPreference.Auto, true, true)]
    [InlineData(AmpKernelPreference.Auto, false, false)]
    [InlineData(AmpKernelPreference.Fused, true, true)]
    [InlineData(AmpKernelPreference.Managed, true, false)]
    [InlineData(AmpKernelPreference.Managed, false, false)]
    public void The_preference_and_what_this_libtorch_compiles_decide(AmpKernelPreference preference, bool available, bool fused) =>
        Assert.Equal(fused, KernelChoice.UseFused(preference, available, "Adam kernel"));

    [Fact]
    public void Requiring_fused_kernels_that_did_not_compile_names_them_and_says_what_to_pass()
    {
        var error = Assert.Throws<NotSupportedException>(() => KernelChoice.UseFused(AmpKernelPreference.Fused, available: false, "Adam kernel"));
        Assert.Contains("The fused Adam kernel is not available with this libtorch build", error.Message);
        Assert.Contains("AmpKernelPreference.Auto, fused: null", error.Message);
    }

    [Theory]
    [InlineData(AmpKernelPreference.Auto, null, null)]
    [InlineData(AmpKernelPreference.Fused, null, true)]
    [InlineData(AmpKernelPreference.Managed, null, false)]
    [InlineData(AmpKernelPreference.Managed, true, true)]
    [InlineData(AmpKernelPreference.Fused, false, false)]
    public void An_optimizer_s_own_fused_argument_wins_over_the_compile_preference(AmpKernelPreference preference, bool? own, bool? expected) =>
        Assert.Equal(expected, KernelChoice.ToFused(preference, own));

    [Theory]
    [InlineData(null, AmpKernelPreference.Auto)]
    [InlineData(true, AmpKernelPreference.Fused)]
    [InlineData(false, AmpKernelPreference.Managed)]
    public void An_optimizer_s_fused_argument_is_a_preference(bool? fused, AmpKernelPreference preference) =>
        Assert.Equal(preference, KernelChoice.FromFused(fused));
}
