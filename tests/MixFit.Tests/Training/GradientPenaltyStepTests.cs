using System.Text.Json;
using MixFit.Data;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Tests.Training;

/// <summary>
/// A custom <see cref="Trainer.TrainStep"/> with a gradient penalty: a second backward through the loss-scaled graph
/// (<c>Precision.ScaleLoss</c>, <c>autograd.grad(create_graph)</c>, <c>Precision.Unscale</c>), checked step by step
/// against the same step in PyTorch with <c>torch.amp.GradScaler</c> (Fixtures/gradient-penalty-steps.json, written
/// by tools/make-gradient-penalty-fixture.py under PyTorch 2.14).
/// </summary>
public sealed class GradientPenaltyStepTests
{
    private const double PenaltyWeight = 10;

    /// <summary>Cross-entropy plus 10 x the mean squared norm of its gradient with respect to the input.</summary>
    private sealed class PenaltyTrainer(nn.Module<Tensor, Tensor> model) : Trainer(model, CPU)
    {
        public override IReadOnlyDictionary<string, Tensor> TrainStep(Batch batch)
        {
            var inputs = Precision.ConvertInput(batch.X).detach().requires_grad_(true);
            var target = batch.Y!;
            var output = Precision.ConvertOutput(Module.call(inputs));
            var loss = ComputeLoss(batch, output, target, null);
            var scaled = torch.autograd.grad(new[] { Precision.ScaleLoss(loss) }, new[] { inputs }, retain_graph: true, create_graph: true)[0];
            var penalty = Precision.Unscale(scaled).to(ScalarType.Float32).pow(2).flatten(1).sum(1).mean();
            Precision.Backward(loss + penalty * PenaltyWeight);
            Precision.Step(Optimizer!);
            UpdateMetrics(loss, output, target, null);
            return new Dictionary<string, Tensor> { ["penalty"] = penalty };
        }
    }

    /// <summary>The fixture's model: weights from a formula computed in float64 and rounded to float32.</summary>
    private static nn.Module<Tensor, Tensor> Model()
    {
        static Tensor Formula(long rows, long cols, Func<Tensor, Tensor, Tensor> f) =>
            f(arange(rows, ScalarType.Float64).reshape(rows, 1), arange(cols, ScalarType.Float64).reshape(1, cols)).to(ScalarType.Float32);

        var first = nn.Linear(4, 8);
        var second = nn.Linear(8, 3);
        using (no_grad())
        {
            first.weight!.copy_(Formula(8, 4, (i, j) => (i * 4 + j + 1).sin() * 0.3));
            first.bias!.copy_(Formula(8, 1, (i, _) => i.cos() * 0.1).flatten());
            second.weight!.copy_(Formula(3, 8, (k, i) => (k * 8 + i + 1).cos() * 0.3));
            second.bias!.copy_(Formula(3, 1, (k, _) => k * 0.05).flatten());
        }

        return nn.Sequential(first, nn.Tanh(), second);
    }

    private static (Tensor X, Tensor Y) Batch() => (linspace(-1, 1, 24).reshape(6, 4), tensor(new long[] { 0, 1, 2, 0, 1, 2 }));

    private static CompileOptions Options(DTypePolicy policy, LossScaleOptions? scale) => new()
    {
        Policy = policy,
        LossScale = scale,
        Optimizer = new OptimizerConfig { Name = "sgd", LearningRate = 0.1 },
    };

    [Fact]
    public void Three_penalty_steps_match_pytorch_with_grad_scaler_to_float32_noise()
    {
        using var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "gradient-penalty-steps.json")));
        using var trainer = new PenaltyTrainer(Model());
        trainer.Compile(Options(DTypePolicy.Float32, LossScaleOptions.Fixed(1024)));
        var (x, y) = Batch();
        var history = trainer.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 6, Shuffle = false, Verbose = 0 });

        var steps = fixture.RootElement.GetProperty("steps").EnumerateArray().ToArray();
        for (int i = 0; i < 3; i++)
        {
            double loss = steps[i].GetProperty("loss").GetDouble();
            double penalty = steps[i].GetProperty("penalty").GetDouble();
            Assert.True(Math.Abs(history["loss"][i] - loss) <= 1e-6 * loss, $"step {i}: loss {history["loss"][i]:R}, PyTorch {loss:R}");
            Assert.True(Math.Abs(history["penalty"][i] - penalty) <= 1e-4 * penalty, $"step {i}: penalty {history["penalty"][i]:R}, PyTorch {penalty:R}");
        }

        var weights = trainer.GetWeights();
        foreach (var entry in fixture.RootElement.GetProperty("weights").EnumerateObject())
        {
            var expected = entry.Value.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
            var actual = weights[entry.Name].flatten().data<float>().ToArray();
            Assert.Equal(expected.Length, actual.Length);
            double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(worst <= 2e-7, $"{entry.Name}: worst difference from PyTorch {worst:E2}");
        }
    }

    [Fact]
    public void Without_unscaling_the_penalty_would_be_scale_squared_larger_so_the_check_can_fail()
    {
        // The same first step by hand: the penalty of the scaled gradient is 1024^2 times the true one.
        var model = Model();
        var (x, y) = Batch();
        var inputs = x.detach().requires_grad_(true);
        var loss = nn.functional.cross_entropy(model.call(inputs), y);
        var scaled = torch.autograd.grad(new[] { loss * 1024 }, new[] { inputs }, create_graph: true)[0];
        double raw = scaled.pow(2).flatten(1).sum(1).mean().item<float>();
        using var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "gradient-penalty-steps.json")));
        double expected = fixture.RootElement.GetProperty("steps")[0].GetProperty("penalty").GetDouble();
        Assert.Equal(1024.0 * 1024.0, raw / expected, 2);
    }

    [Theory]
    [InlineData("mixed_float16")]
    [InlineData("mixed_bfloat16")]
    public void The_penalty_step_trains_a_classifier_under_the_mixed_policies(string policy)
    {
        var (x, y) = TinyProblems.FashionMnist(512);
        using var trainer = new PenaltyTrainer(TinyProblems.Mlp(seed: 4, dropout: 0));
        trainer.Compile(Options(DTypePolicy.Parse(policy), null) with { Optimizer = new OptimizerConfig { Name = "adam" }, Metrics = new[] { "accuracy" } });
        var history = trainer.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 64, Verbose = 0 });

        Assert.All(history["penalty"], p => Assert.True(double.IsFinite(p) && p > 0, p.ToString()));
        Assert.True(history["loss"][^1] < history["loss"][0], $"loss {history["loss"][0]:F3} -> {history["loss"][^1]:F3}");
        Assert.True(history["accuracy"][^1] > 0.6, $"accuracy {history["accuracy"][^1]:F3}");
    }
}
