using MixFit.Callbacks;
using MixFit.Data;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Tests.Optimizers;

/// <summary>
/// An optimizer written outside MixFit (here, in the test assembly): Lion (Chen et al. 2023) over the public
/// <see cref="Optimizer"/> base, trained by Fit under mixed_float16 with loss scaling, skipping and checkpoints.
/// </summary>
public sealed class UserOptimizerTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-user-optimizer-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Lion: the update is the sign of an interpolation of momentum and gradient; one state slot per parameter.</summary>
    private sealed class Lion : Optimizer
    {
        private readonly Tensor[] momentum;
        private readonly double beta1;
        private readonly double beta2;

        public Lion(IEnumerable<Parameter> parameters, double learningRate = 1e-4, double beta1 = 0.9, double beta2 = 0.99)
            : base(parameters, learningRate)
        {
            this.beta1 = beta1;
            this.beta2 = beta2;
            momentum = Parameters.Select(p => NewState(p)).ToArray();
        }

        public override IReadOnlyDictionary<string, Tensor> StateDict() =>
            momentum.Select((m, i) => (m, i)).ToDictionary(x => $"{x.i}.exp_avg", x => x.m);

        protected override void ManagedStep(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, double learningRate)
        {
            for (int k = 0; k < indices.Count; k++)
            {
                var m = momentum[indices[k]];
                var update = (m * beta1 + grads[k] * (1 - beta1)).sign();
                Parameters[indices[k]].sub_(update * learningRate);
                m.mul_(beta2).add_(grads[k], alpha: 1 - beta2);
            }
        }
    }

    private static CompileOptions LionUnder(DTypePolicy policy, LossScaleOptions? lossScale = null) => new()
    {
        Policy = policy,
        LossScale = lossScale,
        OptimizerFactory = parameters => new Lion(parameters, 3e-4),
        Metrics = new[] { "accuracy" },
    };

    [Fact]
    public void One_lion_step_updates_weights_and_momentum_as_the_formula_says()
    {
        var p = new Parameter(tensor(new float[] { 1f, -2f, 0.5f }));
        p.grad = tensor(new float[] { 0.3f, -0.1f, 0f });
        var m = tensor(new float[] { -1f, 0.05f, 0.2f });
        using var lion = new Lion(new[] { p }, learningRate: 0.1);
        lion.StateDict()["0.exp_avg"].copy_(m);
        lion.Step();

        // c = 0.9 m + 0.1 g = [-0.87, 0.035, 0.18]: sign [-1, 1, 1]; p - 0.1 sign; m = 0.99 m + 0.01 g.
        Assert.Equal(new[] { 1.1f, -2.1f, 0.4f }, p.data<float>().ToArray(), new FloatTolerance(1e-6f));
        Assert.Equal(new[] { -0.987f, 0.0485f, 0.198f }, lion.StateDict()["0.exp_avg"].data<float>().ToArray(), new FloatTolerance(1e-6f));
    }

    [Fact]
    public void A_user_optimizer_trains_under_mixed_float16_and_an_overflowing_scale_skips_its_steps()
    {
        var (x, y) = TinyProblems.FashionMnist(1024);
        using var trainer = new Trainer(TinyProblems.Mlp(seed: 1, dropout: 0), CPU);

        // A scale of 2^40 overflows float16 gradients: the first steps are skipped (weights and momentum untouched)
        // and the scale halves until they fit.
        trainer.Compile(LionUnder(DTypePolicy.MixedFloat16, LossScaleOptions.Dynamic(initialScale: Math.Pow(2, 40))));
        Assert.IsType<Lion>(trainer.Optimizer);
        var before = trainer.GetWeights();
        var skipped = new List<double>();
        var watch = new LambdaCallback
        {
            BatchEnd = (step, logs) =>
            {
                skipped.Add(logs["skipped_steps"]);
                if (skipped.Count == 1)
                {
                    foreach (var (name, value) in trainer.GetWeights())
                    {
                        Assert.True(value.equal(before[name]).all().item<bool>(), $"{name} changed in a skipped step");
                    }

                    Assert.All(trainer.Optimizer!.StateDict().Values, m => Assert.Equal(0f, m.abs().max().item<float>()));
                }
            },
        };
        var history = trainer.Fit(x, y, new FitOptions { Epochs = 5, BatchSize = 64, Verbose = 0, Callbacks = new Callback[] { watch } });

        // 2^40 halves (one skipped step each) until the float16 gradients fit (2^17 for this MLP: 23 skips), then steps go through.
        Assert.Equal(1.0, skipped[0]);
        Assert.InRange(skipped[^1], 15, 30);
        Assert.Equal(Enumerable.Range(1, 15).Select(i => (double)i), skipped.Take(15));
        Assert.True(history["loss"][^1] < 0.75 * history["loss"][0], $"loss {history["loss"][0]:F3} -> {history["loss"][^1]:F3}");
        Assert.True(history["accuracy"][^1] > 0.6, $"accuracy {history["accuracy"][^1]:F3}");
    }

    [Fact]
    public void A_user_optimizer_checkpoints_and_resumes_bit_identically_under_mixed_float16()
    {
        string checkpoint = Path.Combine(dir, "lion.ckpt");
        var (x, y) = TinyProblems.FashionMnist(512);
        IBatchSource Data() => new TensorBatchSource(x, y, 64, shuffle: true, seed: 7);

        using var straight = new Trainer(TinyProblems.Mlp(seed: 2), CPU);
        straight.Compile(LionUnder(DTypePolicy.MixedFloat16));
        var save = new LambdaCallback { EpochEnd = (epoch, _) => { if (epoch == 0) { straight.SaveCheckpoint(checkpoint, epoch); } } };
        straight.Fit(Data(), new FitOptions { Epochs = 2, Verbose = 0, Callbacks = new Callback[] { save } });

        using var resumed = new Trainer(TinyProblems.Mlp(seed: 3), CPU);
        resumed.Compile(LionUnder(DTypePolicy.MixedFloat16));
        resumed.LoadCheckpoint(checkpoint);
        resumed.Fit(Data(), new FitOptions { Epochs = 2, InitialEpoch = 1, Verbose = 0 });

        var actual = resumed.GetWeights();
        foreach (var (name, value) in straight.GetWeights())
        {
            Assert.True(value.equal(actual[name]).all().item<bool>(), $"{name} differs after resuming");
        }

        foreach (var (slot, state) in straight.Optimizer!.StateDict())
        {
            Assert.True(state.equal(resumed.Optimizer!.StateDict()[slot]).all().item<bool>(), $"Lion slot {slot} differs after resuming");
        }

        Assert.Equal(straight.Precision.GetLossScale(), resumed.Precision.GetLossScale());
    }

    [Fact]
    public void A_user_optimizer_that_asks_for_a_fused_step_it_does_not_write_is_told_what_to_override()
    {
        var p = new Parameter(ones(2));
        p.grad = ones(2);
        using var optimizer = new Unfused(new[] { p });
        var error = Assert.Throws<NotSupportedException>(() => optimizer.Step());
        Assert.Contains("Unfused was created with fused: true but does not override FusedStep", error.Message);
    }

    private sealed class Unfused(IEnumerable<Parameter> parameters) : Optimizer(parameters, 0.1, fused: true)
    {
        public override IReadOnlyDictionary<string, Tensor> StateDict() => new Dictionary<string, Tensor>();

        protected override void ManagedStep(IReadOnlyList<int> indices, IReadOnlyList<Tensor> grads, double learningRate)
        {
        }
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;

        public int GetHashCode(float value) => 0;
    }
}
