using MixFit.Applications;
using MixFit.Optimizers;
using MixFit.Precision;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MixFit.Tests.Precision;

public class PrecisionStrategyTests
{
    [Fact]
    public void Float32_is_a_no_op_that_keeps_the_models_own_parameters()
    {
        var model = SmallCnn.Create();
        var before = model.parameters().ToArray();
        using var precision = PrecisionStrategy.Create("float32");
        var parameters = precision.Prepare(model, CPU);
        Assert.Equal(before.Length, parameters.Count);
        Assert.All(before.Zip(parameters), pair => Assert.Same(pair.First, pair.Second));
        var x = randn(2, 1, 28, 28);
        Assert.Same(x, precision.ConvertInput(x));
        Assert.False(precision.Scaler.IsEnabled);
    }

    [Fact]
    public void Float64_converts_the_model_and_keeps_float64_outputs()
    {
        var model = SmallCnn.Create();
        using var precision = PrecisionStrategy.Create("float64");
        var parameters = precision.Prepare(model, CPU);
        Assert.All(parameters, p => Assert.Equal(ScalarType.Float64, p.dtype));
        var logits = precision.ConvertOutput(model.call(precision.ConvertInput(randn(2, 1, 28, 28, dtype: ScalarType.Float64))));
        Assert.Equal(ScalarType.Float64, logits.dtype);
        precision.Backward(F.cross_entropy(logits, tensor(new long[] { 0, 1 })));
        using var sgd = new Sgd(parameters, 0.1);
        Assert.False(precision.Step(sgd).IsSkipped());
    }

    [Fact]
    public void Pure_bfloat16_converts_everything_including_normalisation_and_keeps_no_masters()
    {
        var model = SmallCnn.Create();
        using var precision = PrecisionStrategy.Create("bfloat16");
        var parameters = precision.Prepare(model, CPU);
        Assert.IsNotType<MixedPrecisionStrategy>(precision);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        Assert.Equal(model.parameters().Count(), parameters.Count);

        using var adam = new Adam(parameters, 1e-2);
        var logits = precision.ConvertOutput(model.call(precision.ConvertInput(randn(4, 1, 28, 28))));
        Assert.Equal(ScalarType.Float32, logits.dtype);
        precision.Backward(F.cross_entropy(logits, tensor(new long[] { 0, 1, 2, 3 })));
        precision.Step(adam);
        Assert.Equal(ScalarType.BFloat16, adam.StateDict()["0.exp_avg"].dtype);
    }

    [Fact]
    public void Torchvision_mobilenet_v2_trains_a_step_under_mixed_bfloat16()
    {
        manual_seed(0);
        var model = torchvision.models.mobilenet_v2(num_classes: 10);
        using var precision = PrecisionStrategy.Create("mixed_bfloat16");
        var parameters = precision.Prepare(model, CPU);
        Assert.All(parameters, p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.Contains(model.parameters(), p => p.dtype == ScalarType.BFloat16);
        using var adam = new Adam(parameters);
        var before = ((MixedPrecisionStrategy)precision).MasterWeights.Values.First().detach().clone();
        var logits = precision.ConvertOutput(model.call(precision.ConvertInput(randn(2, 3, 32, 32))));
        precision.Backward(F.cross_entropy(logits, tensor(new long[] { 3, 4 })));
        Assert.False(precision.Step(adam).IsSkipped());
        Assert.False(before.Equals(((MixedPrecisionStrategy)precision).MasterWeights.Values.First()));
    }

    [Fact]
    public void Using_a_strategy_before_prepare_or_preparing_twice_is_an_error()
    {
        using var precision = PrecisionStrategy.Create("mixed_bfloat16");
        Assert.Contains("Prepare", Assert.Throws<InvalidOperationException>(() => precision.Backward(tensor(1f))).Message);
        precision.Prepare(SmallCnn.Create(), CPU);
        Assert.Throws<InvalidOperationException>(() => precision.Prepare(SmallCnn.Create(), CPU));
    }

    [Fact]
    public void Loading_a_state_dict_with_a_wrong_shape_names_the_key()
    {
        using var precision = PrecisionStrategy.Create("mixed_float16");
        precision.Prepare(SmallCnn.Create(), CPU);
        var state = SmallCnn.Create(classes: 5).state_dict();
        var e = Assert.Throws<ArgumentException>(() => precision.LoadStateDict(state));
        Assert.Contains("fc2.weight", e.Message);
    }
}
