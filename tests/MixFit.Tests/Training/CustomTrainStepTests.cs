using MixFit.Callbacks;
using MixFit.Data;
using MixFit.Integration.Tracking;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Tracking.Store;
using MixFit.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MixFit.Tests.Training;

/// <summary>
/// Keras' "customise what happens in fit": a <see cref="Trainer"/> subclass overrides <see cref="Trainer.TrainStep"/>
/// and keeps Fit's logs, callbacks and checkpoints. The GAN has two optimizers, each with its own loss scaler.
/// </summary>
public sealed class CustomTrainStepTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-custom-step-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>A generator (noise 32 to a 28x28 image in [-1, 1]) and a discriminator (image to one logit).</summary>
    internal sealed class Gan : nn.Module<Tensor, Tensor>
    {
        public const int Noise = 32;
        private readonly Sequential generator;
        private readonly Sequential discriminator;

        public Gan(long seed) : base("gan")
        {
            manual_seed(seed);
            generator = nn.Sequential(nn.Linear(Noise, 128), nn.LeakyReLU(0.2), nn.Linear(128, 784), nn.Tanh());
            discriminator = nn.Sequential(nn.Linear(784, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1));
            RegisterComponents();
        }

        public Tensor Generate(Tensor z) => generator.call(z);

        public Tensor Discriminate(Tensor image) => discriminator.call(image);

        public override Tensor forward(Tensor z) => generator.call(z);
    }

    /// <summary>The Keras guide's GAN step: the discriminator on real and generated images, then the generator.</summary>
    internal sealed class GanTrainer(Gan gan) : Trainer(gan, CPU)
    {
        public Optimizer? Generator { get; private set; }

        public void CompileGan(DTypePolicy policy, bool withGenerator = true)
        {
            Compile(new CompileOptions
            {
                Policy = policy,
                OptimizerFactory = _ => new MixFit.Optimizers.Adam(Precision.ParametersUnder("discriminator"), 2e-4, beta1: 0.5),
            });
            if (withGenerator)
            {
                Generator = new MixFit.Optimizers.Adam(Precision.ParametersUnder("generator"), 2e-4, beta1: 0.5);
                AddOptimizer("generator", Generator);
            }
        }

        public override IReadOnlyDictionary<string, Tensor> TrainStep(Batch batch)
        {
            var real = Precision.ConvertInput(batch.X.flatten(1) * 2 - 1);
            long n = real.shape[0];
            var z = Precision.ConvertInput(randn(n, Gan.Noise));
            var ones = torch.ones(n, 1);
            var zeros = torch.zeros(n, 1);

            var fake = gan.Generate(z).detach();
            var dLoss = F.binary_cross_entropy_with_logits(Precision.ConvertOutput(gan.Discriminate(real)), ones)
                + F.binary_cross_entropy_with_logits(Precision.ConvertOutput(gan.Discriminate(fake)), zeros);
            Precision.Backward(dLoss, Optimizer);
            Precision.Step(Optimizer!);

            var gLoss = F.binary_cross_entropy_with_logits(Precision.ConvertOutput(gan.Discriminate(gan.Generate(z))), ones);
            Precision.Backward(gLoss, Generator);
            Precision.Step(Generator!);
            return new Dictionary<string, Tensor> { ["d_loss"] = dLoss, ["g_loss"] = gLoss };
        }
    }

    private static IBatchSource Images(int count, int batchSize = 64) =>
        new TensorBatchSource(TinyProblems.FashionMnist(count).X, TinyProblems.FashionMnist(count).Y, batchSize, shuffle: true, seed: 3);

    private static double Correlation(Tensor a, Tensor b)
    {
        var x = a.flatten() - a.mean();
        var y = b.flatten() - b.mean();
        return (x * y).sum().item<float>() / Math.Sqrt((x * x).sum().item<float>() * (y * y).sum().item<float>());
    }

    [Theory]
    [InlineData("mixed_float16")]
    [InlineData("mixed_bfloat16")]
    public void A_gan_with_two_optimizers_trains_under_fit_and_its_samples_take_the_data_mean_shape(string policy)
    {
        using var trainer = new GanTrainer(new Gan(seed: 1));
        trainer.CompileGan(DTypePolicy.Parse(policy));
        var real = TinyProblems.FashionMnist(2048).X.flatten(1) * 2 - 1;
        using (no_grad())
        {
            manual_seed(5);
            double before = Correlation(trainer.Predict(randn(256, Gan.Noise)).mean(new long[] { 0 }), real.mean(new long[] { 0 }));
            Assert.True(Math.Abs(before) < 0.5, $"before training r = {before:F2}");
            Console.WriteLine($"{policy}: r before {before:F3}");
        }

        var output = new StringWriter();
        var history = trainer.Fit(Images(2048), new FitOptions { Epochs = 5, Verbose = 1, Output = output });

        Assert.Equal(5, history["d_loss"].Count);
        Assert.All(history["d_loss"].Concat(history["g_loss"]), v => Assert.True(double.IsFinite(v) && v > 0, v.ToString()));
        Assert.DoesNotContain("loss", history.Values.Keys);    // the step never fed the compiled loss
        Assert.Matches(@"32/32 \[=+\] - .* - d_loss: \d+\.\d{4} - g_loss: \d+\.\d{4}", output.ToString());
        if (policy == "mixed_float16")
        {
            // Two scalers, each logged: the compiled (discriminator's) one and the generator's own.
            Assert.Contains("loss_scale", history.Values.Keys);
            Assert.Contains("generator_loss_scale", history.Values.Keys);
        }

        using (no_grad())
        {
            manual_seed(5);
            double after = Correlation(trainer.Predict(randn(256, Gan.Noise)).mean(new long[] { 0 }), real.mean(new long[] { 0 }));
            Console.WriteLine($"{policy}: r after {after:F6}, d_loss {string.Join(", ", history["d_loss"].Select(v => v.ToString("F6")))}");
            Assert.True(after > 0.7, $"the generated images' mean correlates {after:F2} with the data's mean image after 5 epochs (expected > 0.7)");
        }
    }

    [Fact]
    public void A_gan_resumed_from_a_checkpoint_trains_bit_identically_to_an_uninterrupted_run_with_both_optimizers_and_scalers()
    {
        string checkpoint = Path.Combine(dir, "gan.ckpt");
        using var straight = new GanTrainer(new Gan(seed: 2));
        straight.CompileGan(DTypePolicy.MixedFloat16);
        var save = new LambdaCallback { EpochEnd = (epoch, _) => { if (epoch == 0) { straight.SaveCheckpoint(checkpoint, epoch); } } };
        straight.Fit(Images(512), new FitOptions { Epochs = 2, Verbose = 0, Callbacks = new Callback[] { save } });

        using var resumed = new GanTrainer(new Gan(seed: 99));
        resumed.CompileGan(DTypePolicy.MixedFloat16);
        var info = resumed.LoadCheckpoint(checkpoint);
        Assert.Equal(0, info.Epoch);
        resumed.Fit(Images(512), new FitOptions { Epochs = 2, InitialEpoch = 1, Verbose = 0 });

        var expected = straight.GetWeights();
        var actual = resumed.GetWeights();
        foreach (var (name, value) in expected)
        {
            Assert.True(value.equal(actual[name]).all().item<bool>(), $"{name} differs after resuming");
        }

        foreach (var (name, optimizer) in straight.Optimizers)
        {
            foreach (var (slot, state) in optimizer.StateDict())
            {
                Assert.True(state.equal(resumed.Optimizers[name].StateDict()[slot]).all().item<bool>(), $"optimizer {name} slot {slot} differs after resuming");
            }
        }

        Assert.Equal(straight.Precision.GetState(), resumed.Precision.GetState(), new PrecisionStateComparer());
        Assert.NotNull(straight.Precision.GetState().OptimizerScalers?["generator"]);
    }

    [Fact]
    public void A_gan_fit_is_tracked_with_both_losses_and_both_loss_scales_and_resumes_into_the_same_run()
    {
        var store = RunStore.Open(Path.Combine(dir, "runs"));
        string checkpoint = Path.Combine(dir, "tracked.ckpt");
        string runId;
        using (var first = new GanTrainer(new Gan(seed: 6)))
        using (var tracking = new TrackingCallback(store, "gan", "fashion-mnist 256", captureConsole: false))
        {
            first.CompileGan(DTypePolicy.MixedFloat16);
            var save = new LambdaCallback { EpochEnd = (epoch, _) => first.SaveCheckpoint(checkpoint, epoch) };
            first.Fit(Images(256), new FitOptions { Epochs = 1, Verbose = 0, Callbacks = new Callback[] { tracking, save } });
            runId = tracking.Run!.Id;
        }

        using (var resumed = new GanTrainer(new Gan(seed: 7)))
        using (var tracking = new TrackingCallback(store, "gan", "fashion-mnist 256", captureConsole: false) { ResumeRunId = runId })
        {
            resumed.CompileGan(DTypePolicy.MixedFloat16);
            resumed.LoadCheckpoint(checkpoint);
            resumed.Fit(Images(256), new FitOptions { Epochs = 2, InitialEpoch = 1, Verbose = 0, Callbacks = new Callback[] { tracking } });
        }

        var run = store.List().Single();
        Assert.Equal(runId, run.Id);
        Assert.Equal(RunStatus.Finished, run.Status);
        var epochs = store.Metrics(run.Id, "epoch");
        Assert.Equal(new long[] { 0, 1 }, epochs.Select(e => e.Step));
        Assert.All(epochs, e => Assert.True(e.Values.ContainsKey("d_loss") && e.Values.ContainsKey("g_loss") && e.Values.ContainsKey("generator_loss_scale"), string.Join(", ", e.Values.Keys)));
        var steps = store.Metrics(run.Id, "step");
        Assert.NotEmpty(steps);
        Assert.All(steps, s => Assert.True(s.Values.ContainsKey("loss_scale") && s.Values.ContainsKey("generator_loss_scale") && s.Values.ContainsKey("d_loss"), string.Join(", ", s.Values.Keys)));
    }

    [Fact]
    public void A_checkpoint_without_the_generator_optimizer_is_refused_naming_what_differs()
    {
        string checkpoint = Path.Combine(dir, "plain.ckpt");
        using var plain = new GanTrainer(new Gan(seed: 3));
        plain.CompileGan(DTypePolicy.MixedFloat16, withGenerator: false);
        plain.SaveCheckpoint(checkpoint, 0);

        using var gan = new GanTrainer(new Gan(seed: 3));
        gan.CompileGan(DTypePolicy.MixedFloat16);
        var error = Assert.Throws<InvalidDataException>(() => gan.LoadCheckpoint(checkpoint));
        Assert.True(error.ToString().Contains("further optimizers (none) differ from the trainer's (generator)", StringComparison.Ordinal), error.ToString());
    }

    [Fact]
    public void Backward_for_one_optimizer_then_step_of_another_is_refused_before_anything_changes()
    {
        using var trainer = new GanTrainer(new Gan(seed: 4));
        trainer.CompileGan(DTypePolicy.MixedFloat16);
        using var scope = NewDisposeScope();
        var z = trainer.Precision.ConvertInput(randn(8, Gan.Noise));
        var loss = trainer.Precision.ConvertOutput(((Gan)trainer.Module).Discriminate(((Gan)trainer.Module).Generate(z))).mean();
        trainer.Precision.Backward(loss, trainer.Generator);
        var before = trainer.GetWeights();
        var error = Assert.Throws<InvalidOperationException>(() => trainer.Precision.Step(trainer.Optimizer!));
        Assert.Contains("scaled by the loss scaler \"generator\", but this step unscales with the strategy's loss scaler", error.Message);
        foreach (var (name, value) in trainer.GetWeights())
        {
            Assert.True(value.equal(before[name]).all().item<bool>(), name);
        }
    }

    [Theory]
    [InlineData("Generator", true)]
    [InlineData("2nd", false)]
    [InlineData("", false)]
    public void A_further_optimizer_s_name_must_fit_log_and_checkpoint_keys_with_or_without_its_own_scaler(string name, bool ownLossScaler)
    {
        using var trainer = new GanTrainer(new Gan(seed: 8));
        trainer.CompileGan(DTypePolicy.MixedFloat16, withGenerator: false);
        using var extra = new MixFit.Optimizers.Adam(trainer.Precision.ParametersUnder("generator"));
        var error = Assert.Throws<ArgumentException>(() => trainer.AddOptimizer(name, extra, ownLossScaler));
        Assert.Contains($"An optimizer's name must be lower-case letters, digits and '_', starting with a letter (it names logs and checkpoint entries); got \"{name}\"", error.Message);
        Assert.Equal(new[] { "optimizer" }, trainer.Optimizers.Keys);
    }

    [Fact]
    public void A_custom_step_is_refused_gradient_accumulation_with_a_message_saying_why()
    {
        using var trainer = new GanTrainer(new Gan(seed: 5));
        trainer.CompileGan(DTypePolicy.Float32);
        var error = Assert.Throws<ArgumentException>(() => trainer.Fit(Images(128), new FitOptions { Epochs = 1, Verbose = 0, GradientAccumulation = 2 }));
        Assert.Contains("GanTrainer overrides TrainStep", error.Message);
    }

    private sealed class PrecisionStateComparer : IEqualityComparer<PrecisionState>
    {
        public bool Equals(PrecisionState? x, PrecisionState? y) =>
            x is not null && y is not null && x.Policy == y.Policy && Equals(x.LossScaler, y.LossScaler)
            && (x.OptimizerScalers ?? new Dictionary<string, LossScalerState>()).OrderBy(kv => kv.Key).SequenceEqual((y.OptimizerScalers ?? new Dictionary<string, LossScalerState>()).OrderBy(kv => kv.Key));

        public int GetHashCode(PrecisionState obj) => obj.Policy.GetHashCode();
    }
}
