using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tests.Support;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Tests.Precision;

/// <summary>The surface a training loop uses: state, per-step logs, parameter groups, and the Prepare check.</summary>
public class PrecisionStrategyContractTests
{
    public static TheoryData<string> Policies => new() { "float32", "bfloat16", "mixed_bfloat16", "mixed_float16" };

    [Theory]
    [MemberData(nameof(Policies))]
    public void Every_member_that_needs_a_model_says_to_call_Prepare_first(string policy)
    {
        using var precision = PrecisionStrategy.Create(policy);
        using var x = ones(2, 3);
        var calls = new Dictionary<string, Action>
        {
            ["Parameters"] = () => _ = precision.Parameters,
            ["ParameterNames"] = () => _ = precision.ParameterNames,
            ["Device"] = () => _ = precision.Device,
            ["ModulePolicies"] = () => _ = precision.ModulePolicies,
            ["ParameterGroups"] = () => precision.ParameterGroups(),
            ["RefreshTrainable"] = () => precision.RefreshTrainable(),
            ["ConvertInput"] = () => precision.ConvertInput(x),
            ["ConvertOutput"] = () => precision.ConvertOutput(x),
            ["Backward"] = () => precision.Backward(x.sum()),
            ["ZeroGrad"] = () => precision.ZeroGrad(),
            ["StepLogs"] = () => precision.StepLogs(),
            ["GetLossScale"] = () => precision.GetLossScale(),
            ["GetState"] = () => precision.GetState(),
            ["LoadState"] = () => precision.LoadState(null),
            ["StateDict"] = () => precision.StateDict(),
            ["LoadStateDict"] = () => precision.LoadStateDict(new Dictionary<string, Tensor>()),
        };
        if (precision is MixedPrecisionStrategy mixed)
        {
            calls["MasterWeights"] = () => _ = mixed.MasterWeights;
        }

        foreach (var (member, call) in calls)
        {
            var error = Assert.Throws<InvalidOperationException>(call);
            Assert.True(error.Message.Contains("Prepare(model)", StringComparison.Ordinal), $"{member}: {error.Message}");
        }

        // What a strategy knows without a model stays readable.
        Assert.Equal(policy, precision.Policy.Name);
        Assert.Null(precision.Model);
    }

    [Fact]
    public void Step_logs_are_the_scale_and_skip_count_as_device_tensors_once_the_loss_was_scaled()
    {
        manual_seed(1);
        var model = nn.Linear(3, 1);
        using var precision = PrecisionStrategy.Create(DTypePolicy.MixedFloat16);
        var parameters = precision.Prepare(model, CPU);
        using var sgd = new Sgd(parameters, 0.1);
        Assert.Empty(precision.StepLogs());

        using var x = ones(4, 3);
        precision.Backward(precision.ConvertOutput(model.call(precision.ConvertInput(x))).mean() * float.PositiveInfinity);
        precision.Step(sgd);
        var logs = precision.StepLogs();
        Assert.Equal(new[] { "loss_scale", "skipped_steps" }, logs.Keys);
        Assert.Equal(16384f, logs["loss_scale"].item<float>());
        Assert.Equal(1f, logs["skipped_steps"].item<float>());
        Assert.Equal(16384, precision.GetLossScale());
    }

    [Fact]
    public void Without_loss_scaling_there_are_no_step_logs()
    {
        var model = nn.Linear(3, 1);
        using var precision = PrecisionStrategy.Create(DTypePolicy.MixedBFloat16);
        using var sgd = new Sgd(precision.Prepare(model, CPU), 0.1);
        using var x = ones(4, 3);
        precision.Backward(precision.ConvertOutput(model.call(precision.ConvertInput(x))).mean());
        precision.Step(sgd);
        Assert.Empty(precision.StepLogs());
        Assert.Equal(LossScaleMode.None, precision.LossScaleMode);
        Assert.Null(precision.GetState().LossScaler);
    }

    [Fact]
    public void Parameter_groups_take_the_scale_of_the_longest_matching_module_prefix()
    {
        var model = nn.Sequential(("base", nn.Sequential(("block", nn.Linear(2, 2)), ("top", nn.Linear(2, 2)))), ("head", nn.Linear(2, 1)));
        using var precision = PrecisionStrategy.Create(DTypePolicy.MixedBFloat16);
        precision.Prepare(model, CPU);
        var groups = precision.ParameterGroups(new Dictionary<string, double> { ["base"] = 0.1, ["base.top"] = 0.5 });
        Assert.Equal(new[] { 0.1, 0.5, 1.0 }, groups.Select(g => g.LearningRateScale));
        Assert.Equal(new[] { "base.block.weight", "base.block.bias" }, groups[0].Names);
        Assert.Equal(new[] { "base.top.weight", "base.top.bias" }, groups[1].Names);
        Assert.Equal(new[] { "head.weight", "head.bias" }, groups[2].Names);

        // The groups hold what the optimizer must update: the float32 masters.
        Assert.All(groups.SelectMany(g => g.Parameters), p => Assert.Equal(ScalarType.Float32, p.dtype));
        using var adam = new OptimizerConfig().Create(groups);
        Assert.Equal(new[] { 0.1, 0.1, 0.5, 0.5, 1.0, 1.0 }, adam.LearningRateScales);
    }

    [Fact]
    public void State_carries_the_policy_and_the_loss_scale_into_another_strategy()
    {
        manual_seed(2);
        var model = nn.Linear(3, 1);
        using var precision = PrecisionStrategy.Create(DTypePolicy.MixedFloat16, new PrecisionOptions { LossScale = LossScaleOptions.Dynamic(initialScale: 1024) });
        using var sgd = new Sgd(precision.Prepare(model, CPU), 0.1);
        using var x = ones(4, 3);
        precision.Backward(precision.ConvertOutput(model.call(precision.ConvertInput(x))).mean() * float.NaN);
        precision.Step(sgd);
        var state = precision.GetState();
        Assert.Equal("mixed_float16", state.Policy);
        Assert.Equal(512, state.LossScaler!.Scale);

        using var resumed = PrecisionStrategy.Create(DTypePolicy.MixedFloat16);
        resumed.Prepare(nn.Linear(3, 1), CPU);
        resumed.LoadState(state);
        Assert.Equal(512, resumed.GetLossScale());
        Assert.Equal(state.LossScaler, resumed.GetState().LossScaler);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Keras_and_PyTorch_vocabularies_run_the_same_iteration(string kernels)
    {
        // PrecisionStrategy.Step and LossScaleOptimizer.ApplyGradients share one implementation (LossScaler.Apply):
        // same gradients, same clipping, same skipped step, same parameters and scale.
        var clipping = new GradientClipping(MaxNorm: 0.5);
        var scale = LossScaleOptions.Dynamic(initialScale: 256, growthInterval: 2);
        var preference = kernels == "fused" ? MixFit.Kernels.AmpKernelPreference.Fused : MixFit.Kernels.AmpKernelPreference.Managed;
        manual_seed(3);
        var (x, y) = (randn(8, 3), randn(8, 1));
        var w = randn(1, 3);

        var strategyModel = nn.Linear(3, 1, hasBias: false);
        using (no_grad())
        {
            strategyModel.weight!.copy_(w);
        }

        using var precision = PrecisionStrategy.Create(DTypePolicy.Float32, new PrecisionOptions { LossScale = scale, Kernels = preference });
        using var strategySgd = new Sgd(precision.Prepare(strategyModel, CPU), 0.1, momentum: 0.9, fused: KernelCases.IsFused(kernels));

        var kerasWeight = new Parameter(w.clone());
        using var kerasSgd = new Sgd(new[] { kerasWeight }, 0.1, momentum: 0.9, fused: KernelCases.IsFused(kernels));
        using var keras = new LossScaleOptimizer(kerasSgd, scale, clipping, preference);

        for (int i = 0; i < 4; i++)
        {
            double poison = i == 1 ? double.PositiveInfinity : 1;
            precision.Backward((strategyModel.call(x) - y).pow(2).mean() * poison);
            bool strategySkipped = precision.Step(strategySgd, clipping).IsSkipped();
            keras.ScaleLoss((x.matmul(kerasWeight.t()) - y).pow(2).mean() * poison).backward();
            bool kerasSkipped = keras.ApplyGradients().IsSkipped();
            Assert.Equal(i == 1, strategySkipped);
            Assert.Equal(strategySkipped, kerasSkipped);
            Assert.Null(kerasWeight.grad);
            Assert.Null(strategyModel.weight!.grad);
        }

        Assert.Equal(T.Values(strategyModel.weight!), T.Values(kerasWeight));
        Assert.Equal(precision.GetLossScale(), keras.GetLossScale());
        Assert.Equal(1, keras.GetSkippedSteps());
    }
}
