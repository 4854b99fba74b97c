using MixFit.Optimizers;
using MixFit.Tests.Support;
using TorchSharp;
using TorchSharp.Modules;
using Adam = MixFit.Optimizers.Adam;
using AdamW = MixFit.Optimizers.AdamW;
using static TorchSharp.torch;

namespace MixFit.Tests.Optimizers;

/// <summary>MixFit's optimizers against TorchSharp's own (independent reference implementations of PyTorch's algorithms).</summary>
public class OptimizerTests
{
    private const int Steps = 5;

    private static (Parameter Ours, Parameter Theirs, Tensor[] Grads) Setup(long seed)
    {
        manual_seed(seed);
        var w = randn(4, 3);
        var grads = Enumerable.Range(0, Steps).Select(_ => randn(4, 3)).ToArray();
        return (new Parameter(w.clone()), new Parameter(w.clone()), grads);
    }

    private static void Run(Optimizer ours, Parameter oursParam, optim.Optimizer theirs, Parameter theirsParam, Tensor[] grads)
    {
        foreach (var g in grads)
        {
            oursParam.grad = g.clone();
            ours.Step();
            theirsParam.grad = g.clone();
            theirs.step();
        }
    }

    [Theory]
    [InlineData("fused", false, 0.0)]
    [InlineData("fused", true, 0.1)]
    [InlineData("managed", false, 0.0)]
    [InlineData("managed", true, 0.1)]
    public void Adam_matches_torch_optim_Adam(string kernels, bool amsgrad, double weightDecay)
    {
        var (ours, theirs, grads) = Setup(1);
        using var opt = new Adam(new[] { ours }, 0.01, weightDecay: weightDecay, amsgrad: amsgrad, fused: KernelCases.IsFused(kernels));
        Assert.Equal(KernelCases.IsFused(kernels), opt.IsFused);
        var reference = optim.Adam(new[] { theirs }, 0.01, weight_decay: weightDecay, amsgrad: amsgrad);
        Run(opt, ours, reference, theirs, grads);
        T.Close(T.Values(theirs), ours, 1e-6);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void AdamW_matches_torch_optim_AdamW(string kernels)
    {
        var (ours, theirs, grads) = Setup(2);
        using var opt = new AdamW(new[] { ours }, 0.01, weightDecay: 0.05, fused: KernelCases.IsFused(kernels));
        var reference = optim.AdamW(new[] { theirs }, 0.01, weight_decay: 0.05);
        Run(opt, ours, reference, theirs, grads);
        T.Close(T.Values(theirs), ours, 1e-6);
    }

    [Theory]
    [InlineData("fused", 0.0, 0.0, false, 0.0)]
    [InlineData("fused", 0.9, 0.0, true, 0.01)]
    [InlineData("fused", 0.9, 0.1, false, 0.0)]
    [InlineData("managed", 0.0, 0.0, false, 0.0)]
    [InlineData("managed", 0.9, 0.0, true, 0.01)]
    [InlineData("managed", 0.9, 0.1, false, 0.0)]
    public void Sgd_matches_torch_optim_SGD(string kernels, double momentum, double dampening, bool nesterov, double weightDecay)
    {
        var (ours, theirs, grads) = Setup(3);
        using var opt = new Sgd(new[] { ours }, 0.1, momentum, dampening, weightDecay, nesterov, fused: KernelCases.IsFused(kernels));
        var reference = optim.SGD(new[] { theirs }, 0.1, momentum, dampening, weightDecay, nesterov);
        Run(opt, ours, reference, theirs, grads);
        T.Close(T.Values(theirs), ours, 1e-6);
    }

    [Theory]
    [InlineData("fused", 0.0, false, 0.0)]
    [InlineData("fused", 0.9, true, 0.01)]
    [InlineData("managed", 0.0, false, 0.0)]
    [InlineData("managed", 0.9, true, 0.01)]
    public void Rmsprop_matches_torch_optim_RMSprop(string kernels, double momentum, bool centered, double weightDecay)
    {
        var (ours, theirs, grads) = Setup(6);
        using var opt = new Rmsprop(new[] { ours }, 0.01, weightDecay: weightDecay, momentum: momentum, centered: centered, fused: KernelCases.IsFused(kernels));
        var reference = optim.RMSProp(new[] { theirs }, 0.01, weight_decay: weightDecay, momentum: momentum, centered: centered);
        Run(opt, ours, reference, theirs, grads);
        T.Close(T.Values(theirs), ours, 1e-5);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Rmsprop_leaves_everything_unchanged_on_an_overflow_flag(string kernels)
    {
        var (ours, _, grads) = Setup(7);
        using var opt = new Rmsprop(new[] { ours }, 0.01, momentum: 0.9, centered: true, fused: KernelCases.IsFused(kernels));
        var before = T.Values(ours);
        ours.grad = grads[0];
        opt.Step(ones(Array.Empty<long>()));
        Assert.Equal(before, T.Values(ours));
        Assert.All(opt.StateDict().Values, s => Assert.Equal(0f, s.abs().sum().item<float>()));
    }

    [Fact]
    public void A_parameter_without_a_gradient_is_left_alone()
    {
        var a = new Parameter(ones(2));
        var b = new Parameter(ones(2));
        using var opt = new Adam(new[] { a, b }, 0.1);
        a.grad = ones(2);
        opt.Step();
        Assert.NotEqual(1f, T.Values(a)[0]);
        Assert.Equal(new[] { 1f, 1f }, T.Values(b));
        Assert.Equal(0f, T.Values(opt.StateDict()["1.step"])[0]);
    }

    [Fact]
    public void Frozen_parameters_get_no_optimizer_state()
    {
        var trainable = new Parameter(ones(2));
        var frozen = new Parameter(ones(3), requires_grad: false);
        using var opt = new Adam(new[] { trainable, frozen });
        Assert.Single(opt.Parameters);
        Assert.DoesNotContain(opt.StateDict().Keys, k => k.StartsWith("1.", StringComparison.Ordinal));
    }

    [Fact]
    public void Invalid_hyper_parameters_are_rejected_naming_them()
    {
        var p = new Parameter(ones(1));
        Assert.Equal("beta1", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(new[] { p }, beta1: 1.0)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(new[] { p }, learningRate: 0));
        Assert.Throws<ArgumentException>(() => new Sgd(new[] { p }, 0.1, nesterov: true));
        Assert.Throws<ArgumentException>(() => new Sgd(Array.Empty<Parameter>(), 0.1));
    }

    [Fact]
    public void State_dict_round_trips_into_a_fresh_optimizer()
    {
        var (ours, _, grads) = Setup(4);
        using var opt = new Adam(new[] { ours }, 0.01);
        ours.grad = grads[0];
        opt.Step();
        var copy = new Parameter(ours.detach().clone());
        using var resumed = new Adam(new[] { copy }, 0.01);
        resumed.LoadStateDict(opt.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.clone()));
        ours.grad = grads[1].clone();
        copy.grad = grads[1].clone();
        opt.Step();
        resumed.Step();
        T.Close(T.Values(ours), copy, 0);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Sgd_momentum_continues_after_a_state_dict_round_trip_alone(string kernels)
    {
        // With dampening, the first step copies the gradient into the buffer and later steps damp it: a restored
        // optimizer that forgot it had started would copy again and diverge.
        var (ours, _, grads) = Setup(8);
        using var opt = new Sgd(new[] { ours }, 0.1, momentum: 0.9, dampening: 0.5, fused: KernelCases.IsFused(kernels));
        ours.grad = grads[0].clone();
        opt.Step();
        var copy = new Parameter(ours.detach().clone());
        using var resumed = new Sgd(new[] { copy }, 0.1, momentum: 0.9, dampening: 0.5, fused: KernelCases.IsFused(kernels));
        resumed.LoadStateDict(opt.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.clone()));
        Assert.Equal(1f, opt.StateDict()["0.momentum_started"].item<float>());
        for (int i = 1; i < 3; i++)
        {
            ours.grad = grads[i].clone();
            copy.grad = grads[i].clone();
            opt.Step();
            resumed.Step();
        }

        Assert.Equal(T.Values(ours), T.Values(copy));
    }
}
