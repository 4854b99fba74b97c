using MixFit.Callbacks;
using MixFit.Kernels;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Kernels;

/// <summary>Device-to-host reads, counted where MixFit makes them: what "no sync in the step path" means, proven.</summary>
public class HostReadsTests
{
    private static long ReadsOf(Action action)
    {
        long before = HostReads.Count;
        action();
        return HostReads.Count - before;
    }

    [Theory]
    [InlineData(AmpKernelPreference.Fused, true)]
    [InlineData(AmpKernelPreference.Managed, false)]
    public void A_loss_scaled_mixed_float16_step_reads_nothing_back_with_fused_kernels(AmpKernelPreference kernels, bool fused)
    {
        manual_seed(1);
        var model = nn.Sequential(("fc1", nn.Linear(8, 16)), ("relu", nn.ReLU()), ("fc2", nn.Linear(16, 4)));
        using var precision = PrecisionStrategy.Create(DTypePolicy.MixedFloat16, new PrecisionOptions { Kernels = kernels });
        using var adam = new Adam(precision.Prepare(model, CPU), fused: fused);
        using var x = randn(32, 8);
        using var y = randint(0, 4, 32);

        long reads = ReadsOf(() =>
        {
            for (int step = 0; step < 3; step++)
            {
                using var scope = NewDisposeScope();
                var logits = precision.ConvertOutput(model.call(precision.ConvertInput(x)));
                precision.Backward(nn.functional.cross_entropy(logits, y));
                precision.Step(adam, new GradientClipping(MaxNorm: 1.0));
                _ = precision.StepLogs();
            }
        });

        if (fused)
        {
            Assert.Equal(0, reads);
        }
        else
        {
            // Managed: the overflow check, the scale update (scale, flag, tracker) and Adam's skip check and step
            // counters each read back: the cost the fused kernels remove.
            Assert.True(reads >= 3 * 5, $"{reads} reads");
        }
    }

    [Fact]
    public void Managed_adam_reads_do_not_grow_with_the_number_of_parameters()
    {
        long ReadsPerStep(int layers)
        {
            manual_seed(1);
            var model = nn.Sequential(Enumerable.Range(0, layers).Select(i => ($"fc{i}", (nn.Module<Tensor, Tensor>)nn.Linear(8, 8))).ToArray());
            using var precision = PrecisionStrategy.Create(DTypePolicy.MixedFloat16, new PrecisionOptions { Kernels = AmpKernelPreference.Managed });
            using var adam = new Adam(precision.Prepare(model, CPU), fused: false);
            using var x = randn(16, 8);
            void Step()
            {
                using var scope = NewDisposeScope();
                precision.Backward(precision.ConvertOutput(model.call(precision.ConvertInput(x))).square().mean());
                precision.Step(adam);
            }

            Step();    // the first managed step reads the step counts once
            return ReadsOf(Step);
        }

        // 2 parameters per layer: 4 against 12 parameters, the same reads (the scaler's and the skip check's, not Adam's per parameter).
        Assert.Equal(ReadsPerStep(2), ReadsPerStep(6));
    }

    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    public void Fit_steps_read_nothing_back_the_epoch_end_reads_the_logs_once(int samples)
    {
        var (x, y) = TinyProblems.FashionMnist(samples);
        using var trainer = new Trainer(TinyProblems.Mlp(3), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, Metrics = new[] { "accuracy", "sparse_top_k_categorical_accuracy" } });
        Assert.True(trainer.Optimizer!.IsFused);
        long reads = ReadsOf(() => trainer.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32, Verbose = 0 }));

        // Per epoch: the label range check at its first step (min and max in one read) and the epoch's logs at its end,
        // whether the epoch has 4 steps or 8: no step reads anything.
        Assert.Equal(2 * 2, reads);
    }

    [Fact]
    public void A_live_progress_bar_reads_the_logs_only_when_it_redraws()
    {
        var (x, y) = TinyProblems.FashionMnist(320);
        using var trainer = new Trainer(TinyProblems.Mlp(3), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, Metrics = new[] { "accuracy" } });
        double now = 0;
        var output = new StringWriter();
        var bar = new ProgbarLogger(output, dynamic: true, clock: () => now += 0.1);   // each look at the clock: 0.1 s later
        long reads = ReadsOf(() => trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 32, Verbose = 1, Callbacks = new Callback[] { bar } }));

        // 10 steps, the clock moving 0.1 s per look: the bar redraws at most every RefreshSeconds (0.25 s), i.e. about
        // every third step, and reads the logs only then; plus the label check and the epoch end.
        int redraws = output.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.InRange(redraws, 2, 6);
        Assert.InRange(reads, 2, 1 + redraws + 1);
        Assert.True(reads < 10, $"{reads} reads for 10 steps");
    }

    [Fact]
    public void Epoch_logs_are_the_same_whether_every_step_was_read_or_none()
    {
        Dictionary<string, double> Train(bool readEveryStep)
        {
            var (x, y) = TinyProblems.FashionMnist(160);
            manual_seed(3);
            using var trainer = new Trainer(TinyProblems.Mlp(3), CPU);
            trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, Metrics = new[] { "accuracy", "auc" } });
            var reader = new LambdaCallback { BatchEnd = (_, logs) => { if (readEveryStep) { Assert.True(logs.ContainsKey("loss")); } } };
            var history = trainer.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32, Shuffle = false, Verbose = 0, Callbacks = new Callback[] { reader } });
            return history.Values.ToDictionary(kv => kv.Key, kv => kv.Value[^1]);
        }

        var everyStep = Train(readEveryStep: true);
        var never = Train(readEveryStep: false);
        foreach (var name in new[] { "loss", "accuracy", "auc", "loss_scale" })
        {
            Assert.Equal(everyStep[name], never[name]);
        }
    }

    [Fact]
    public void Batch_logs_read_after_the_next_batch_ran_throw_instead_of_giving_later_values()
    {
        var (x, y) = TinyProblems.FashionMnist(96);
        using var trainer = new Trainer(TinyProblems.Mlp(3), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Float32 });
        var kept = new List<IReadOnlyDictionary<string, double>>();
        var copied = new List<double>();
        var keeper = new LambdaCallback { BatchEnd = (b, logs) => { kept.Add(logs); if (b == 1) { copied.Add(logs["loss"]); } } };
        trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 32, Verbose = 0, Callbacks = new Callback[] { keeper } });

        var error = Assert.Throws<InvalidOperationException>(() => kept[0]["loss"]);
        Assert.Contains("batch 0", error.Message);
        Assert.Contains("copy them", error.Message);
        Assert.Equal(copied[0], kept[1]["loss"]);        // read during its hook: stays readable
        Assert.True(double.IsFinite(kept[2]["loss"]));    // the epoch's last batch: read at the epoch end
    }
}
