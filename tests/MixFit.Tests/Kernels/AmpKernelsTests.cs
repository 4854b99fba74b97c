using MixFit.Kernels;
using MixFit.Tests.Support;
using static TorchSharp.torch;

namespace MixFit.Tests.Kernels;

public class AmpKernelsTests
{
    [Fact]
    public void Fused_kernels_compile_on_this_libtorch_and_are_the_default()
    {
        Assert.NotNull(AmpKernels.Fused);
        Assert.Same(AmpKernels.Fused, AmpKernels.Default);
        Assert.Same(AmpKernels.Managed, AmpKernels.Select(AmpKernelPreference.Managed));
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Unscale_multiplies_by_the_inverse_scale_and_flags_any_non_finite_value(string kernels)
    {
        var k = KernelCases.Get(kernels);
        var grads = new[] { tensor(new[] { 2f, 4f }), tensor(new[] { 8f }) };
        var flag = zeros(Array.Empty<long>());
        k.UnscaleAndCheck(grads, flag, tensor(0.5f));
        T.Close(new float[] { 1, 2 }, grads[0]);
        Assert.Equal(0f, flag.item<float>());

        k.UnscaleAndCheck(new[] { tensor(new[] { 1f, float.NaN }) }, flag, tensor(1f));
        Assert.Equal(1f, flag.item<float>());
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Half_precision_gradients_are_unscaled_in_place(string kernels)
    {
        var k = KernelCases.Get(kernels);
        var grads = new[] { tensor(new[] { 1024f, 2048f }).to(ScalarType.Float16) };
        var flag = zeros(Array.Empty<long>());
        k.UnscaleAndCheck(grads, flag, tensor(1 / 1024f));
        Assert.Equal(ScalarType.Float16, grads[0].dtype);
        T.Close(new float[] { 1, 2 }, grads[0]);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Copy_and_add_convert_between_dtypes(string kernels)
    {
        var k = KernelCases.Get(kernels);
        var dst = new[] { zeros(2) };
        var half = new[] { tensor(new[] { 1.5f, -2f }).to(ScalarType.BFloat16) };
        k.Copy(dst, half);
        k.Add(dst, half);
        T.Close(new float[] { 3, -4 }, dst[0]);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Clip_norm_rescales_to_the_global_norm_and_leaves_small_gradients(string kernels)
    {
        var k = KernelCases.Get(kernels);
        var grads = new[] { tensor(new[] { 3f, 0f }), tensor(new[] { 4f }) };
        k.ClipNorm(grads, 1.0);
        T.Close(new float[] { 0.6f, 0 }, grads[0], 1e-5);
        T.Close(new float[] { 0.8f }, grads[1], 1e-5);
        var small = new[] { tensor(new[] { 0.1f }) };
        k.ClipNorm(small, 1.0);
        T.Close(new float[] { 0.1f }, small[0]);
    }

    [Fact]
    public void Fused_and_managed_end_an_iteration_identically()
    {
        foreach (var found in new[] { 0f, 1f })
        {
            var results = new List<(float Scale, int Tracker, float Inverse, float Skipped)>();
            foreach (var k in new[] { AmpKernels.Fused!, AmpKernels.Managed })
            {
                var scale = tensor(1024f);
                var tracker = tensor(2);
                var inverse = tensor(1 / 1024f);
                var skipped = tensor(5f);
                k.UpdateScale(scale, tracker, tensor(found), inverse, skipped, 2, 0.5, 3, 0);
                results.Add((scale.item<float>(), tracker.item<int>(), inverse.item<float>(), skipped.item<float>()));
            }

            Assert.Equal(results[0], results[1]);
            Assert.Equal(found == 0 ? (2048f, 0, 1 / 2048f, 5f) : (512f, 0, 1 / 512f, 6f), results[0]);
        }
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void A_minimum_scale_clamps_the_backoff(string kernels)
    {
        var k = KernelCases.Get(kernels);
        var scale = tensor(2f);
        var inverse = tensor(0.5f);
        k.UpdateScale(scale, tensor(0), tensor(1f), inverse, tensor(0f), 2, 0.25, 10, 1.0);
        Assert.Equal(1f, scale.item<float>());
        Assert.Equal(1f, inverse.item<float>());
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Four_hundred_finite_float16_values_of_400_are_no_overflow(string kernels)
    {
        // Their float16 sum (160000) overflows; the values do not: the check is element by element.
        var grads = new[] { full(400, 400f).to(ScalarType.Float16) };
        var flag = zeros(Array.Empty<long>());
        KernelCases.Get(kernels).UnscaleAndCheck(grads, flag, tensor(1f));
        Assert.Equal(0f, flag.item<float>());
        T.Close(Enumerable.Repeat(400f, 400).ToArray(), grads[0]);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Unscaling_by_a_scale_above_2_to_the_24_keeps_float16_gradients(string kernels)
    {
        // 1/2^25 is below float16's smallest subnormal (2^-24): multiplying in float16 would zero the gradient.
        var grads = new[] { tensor(new[] { 65504f, 1024f }).to(ScalarType.Float16) };
        var flag = zeros(Array.Empty<long>());
        KernelCases.Get(kernels).UnscaleAndCheck(grads, flag, tensor(1f / 33554432f));
        Assert.Equal(0f, flag.item<float>());
        Assert.Equal(ScalarType.Float16, grads[0].dtype);
        T.Close(new[] { 65504f / 33554432f, 1024f / 33554432f }, grads[0], 1e-5);
    }
}
