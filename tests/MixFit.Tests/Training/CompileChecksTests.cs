using MixFit.Precision;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Training;

public class CompileChecksTests
{
    private static nn.Module<Tensor, Tensor> WithGroupNorm(float[] weight)
    {
        var model = nn.Sequential(("conv", nn.Conv2d(1, 4, 3, padding: 1)), ("gn", nn.GroupNorm(2, 4)), ("flatten", nn.Flatten()), ("fc", nn.Linear(4 * 28 * 28, 10)));
        var norm = (TorchSharp.Modules.GroupNorm)model.named_modules().Single(m => m.name == "gn").module;
        using (no_grad())
        {
            norm.weight!.copy_(tensor(weight));
            norm.bias!.zero_();
        }

        return model;
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(4.5754e-41f)]       // a denormal: what TorchSharp's torch.empty weight held in a probe
    [InlineData(3.7e25f)]
    public void A_group_norm_holding_uninitialised_memory_is_named_with_the_fix(float garbage)
    {
        using var trainer = new Trainer(WithGroupNorm(new[] { 1f, garbage, 1f, 1f }), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Float32 });
        var warning = Assert.Single(trainer.Warnings);
        Assert.Contains("\"gn\"", warning);
        Assert.Contains("nn.init.ones_(layer.weight)", warning);
    }

    [Fact]
    public void An_initialised_or_trained_group_norm_is_not_flagged()
    {
        using var trainer = new Trainer(WithGroupNorm(new[] { 1f, 0.5f, 1.25f, 0f }), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16 });
        Assert.Empty(trainer.Warnings);
    }
}
