using MixFit.Precision;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Training;

[Collection("GlobalPolicy")]
public class SessionTests
{
    [Fact]
    public void Clear_restores_the_float32_global_policy_and_reseeds_every_generator()
    {
        DTypePolicy.SetGlobal(DTypePolicy.MixedFloat16);
        Session.Clear(seed: 11);
        Assert.Same(DTypePolicy.Float32, DTypePolicy.Global);
        var first = randn(5).data<float>().ToArray();

        randn(100).Dispose();                          // move the generator on
        DTypePolicy.SetGlobal(DTypePolicy.MixedBFloat16);
        Session.Clear(seed: 11);
        Assert.Same(DTypePolicy.Float32, DTypePolicy.Global);
        Assert.Equal(first, randn(5).data<float>().ToArray());

        Session.Clear(seed: 12);
        Assert.NotEqual(first, randn(5).data<float>().ToArray());
    }

    [Fact]
    public void Clear_without_a_seed_leaves_the_generators_alone()
    {
        Session.Clear(seed: 3);
        randn(1).Dispose();
        var expected = randn(4).data<float>().ToArray();
        Session.Clear(seed: 3);
        randn(1).Dispose();
        Session.Clear();
        Assert.Equal(expected, randn(4).data<float>().ToArray());
    }
}
