using MixFit.Callbacks;
using MixFit.Integration.Tracking;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Tracking.Store;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Integration.Tracking;

public sealed class TrackingCallbackTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-track-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void A_fit_is_recorded_with_config_environment_steps_epochs_summary_and_console_output()
    {
        var (x, y) = TinyProblems.FashionMnist(96);
        var store = RunStore.Open(dir);
        using var trainer = new Trainer(TinyProblems.Mlp(1), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, Metrics = new[] { "accuracy" } });
        var output = new StringWriter();
        using (var tracking = new TrackingCallback(store, "tracked", "fashion-mnist 96", new[] { "test" }))
        {
            trainer.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32, ValidationSplit = 0.25, Seed = 4, Callbacks = new Callback[] { tracking } });
        }

        double residentNow;
        using (var self = System.Diagnostics.Process.GetCurrentProcess())
        {
            residentNow = self.WorkingSet64 / (1024.0 * 1024.0);
        }

        var run = store.List().Single();
        Assert.Equal(RunStatus.Finished, run.Status);
        Assert.Equal("mixed_float16", run.Config["policy"]!.ToString());
        Assert.Equal("32", run.Config["batch_size"]!.ToString());
        Assert.Equal("Adam", run.Config["optimizer"]!.ToString());
        Assert.Equal("dynamic", run.Config["loss_scale"]!.ToString());
        Assert.Equal(ExpectedLibTorch.Version, run.Config["environment"]!["libtorch"]!.ToString());          // read from the loaded library
        Assert.Matches(@"/libtorch_cpu\.so(\.\d+)*$", run.Config["environment"]!["libtorch_path"]!.ToString());   // a distribution's is versioned (libtorch_cpu.so.2.14.1)
        Assert.Equal(new[] { "test" }, run.Tags);

        var steps = store.Metrics(run.Id, "step");
        Assert.Equal(6, steps.Count);
        Assert.All(steps, s => Assert.True(s.Values.ContainsKey("loss_scale") && s.Values.ContainsKey("ms_per_step") && s.Values.ContainsKey("lr")));
        var epochs = store.Metrics(run.Id, "epoch");
        Assert.Equal(new long[] { 0, 1 }, epochs.Select(e => e.Step));
        Assert.True(epochs[1].Values.ContainsKey("val_accuracy"));

        Assert.Equal(epochs[1].Values["loss"], run.Summary["loss"]);
        Assert.Equal(Math.Min(epochs[0].Values["loss"], epochs[1].Values["loss"]), run.Summary["loss.best"]);
        Assert.True(run.Summary["training_time"] > 0);
        // The peak (VmHWM, reset when the run started) is at least what the process held when the fit ended.
        Assert.True(run.Summary["peak_memory_mb"] >= residentNow - 16, $"peak {run.Summary["peak_memory_mb"]:F0} MB < resident {residentNow:F0} MB");
        Assert.True(run.Summary.ContainsKey("ms_per_step"));

        string log = File.ReadAllText(Path.Combine(run.Folder, "output.log"));
        Assert.Contains("Epoch 2/2", log);
        Assert.Contains("3/3 [==============================]", log);
        Assert.DoesNotContain('\r', log);
    }

    [Fact]
    public void A_fit_that_throws_leaves_a_failed_run_with_what_was_logged()
    {
        var (x, y) = TinyProblems.FashionMnist(64);
        var store = RunStore.Open(dir);
        using var trainer = new Trainer(TinyProblems.Mlp(1), CPU);
        trainer.Compile();
        var boom = new LambdaCallback { EpochEnd = (e, _) => { if (e == 1) { throw new InvalidOperationException("boom"); } } };
        using (var tracking = new TrackingCallback(store, "failing", captureConsole: false))
        {
            Assert.Throws<CallbackException>(() => trainer.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 32, Verbose = 0, Callbacks = new Callback[] { tracking, boom } }));
        }

        var run = store.List().Single();
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(2, store.Metrics(run.Id, "epoch").Count);
    }

    [Fact]
    public void A_fit_interrupted_through_the_context_ends_its_run_killed()
    {
        var (x, y) = TinyProblems.FashionMnist(96);
        var store = RunStore.Open(dir);
        using var trainer = new Trainer(TinyProblems.Mlp(1), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Float32 });
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        using (var tracking = new TrackingCallback(store, "interrupted", captureConsole: false))
        {
            trainer.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32, Verbose = 0, Callbacks = new Callback[] { tracking, new CancellationCallback(cancel.Token) } });
        }

        var run = store.List().Single();
        Assert.Equal(RunStatus.Killed, run.Status);
        Assert.Single(store.Metrics(run.Id, "step"));
    }

    [Fact]
    public void An_overflow_inside_fit_is_skipped_halves_the_scale_and_is_logged_and_tracked()
    {
        // Batch 1 has inputs 1e3 times larger: its float16 weight gradient (~1e6) overflows, its float32 loss does not.
        manual_seed(5);
        var x = randn(12, 4);
        x.narrow(0, 4, 4).mul_(1000);
        var y = randn(12, 1);
        var model = nn.Linear(4, 1);
        using var trainer = new Trainer(model, CPU);
        trainer.Compile(new CompileOptions { Loss = "mse", Policy = DTypePolicy.MixedFloat16, LossScale = LossScaleOptions.Dynamic(initialScale: 1024, growthInterval: 1000) });
        var masters = ((MixedPrecisionStrategy)trainer.Precision).MasterWeights["weight"];
        var steps = new List<IReadOnlyDictionary<string, double>>();
        float[]? before = null;
        float[]? after = null;
        var probe = new LambdaCallback
        {
            BatchBegin = (b, _) => before = b == 1 ? MixFit.Tests.Support.T.Values(masters) : before,
            BatchEnd = (b, logs) =>
            {
                steps.Add(logs);
                after = b == 1 ? MixFit.Tests.Support.T.Values(masters) : after;
            },
        };
        var store = RunStore.Open(dir);
        using (var tracking = new TrackingCallback(store, "overflow", captureConsole: false))
        {
            trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 4, Shuffle = false, Verbose = 0, Callbacks = new Callback[] { tracking, probe } });
        }

        Assert.Equal(new[] { 1024.0, 512.0, 512.0 }, steps.Select(s => s["loss_scale"]));
        Assert.Equal(new[] { 0.0, 1.0, 1.0 }, steps.Select(s => s["skipped_steps"]));
        Assert.All(steps, s => Assert.True(double.IsFinite(s["loss"])));
        Assert.Equal(before, after);                                    // the skipped step left the masters alone
        Assert.Equal(512, trainer.Precision.GetLossScale());

        var run = store.List().Single();
        var tracked = store.Metrics(run.Id, "step");
        Assert.Equal(new[] { 1024.0, 512.0, 512.0 }, tracked.Select(p => p.Values["loss_scale"]));
        Assert.Equal(new[] { 0.0, 1.0, 1.0 }, tracked.Select(p => p.Values["skipped_steps"]));
        Assert.Equal(1, run.Summary["skipped_steps"]);
    }

    [Fact]
    public void A_diverging_fit_is_tracked_to_its_end_with_its_nan_losses()
    {
        // One image of the second batch holds a NaN: from that step on, the loss (and the weights) are NaN.
        var (images, y) = TinyProblems.FashionMnist(128);
        var x = images.clone();
        x[20, 0, 0, 0] = tensor(float.NaN);
        var store = RunStore.Open(dir);
        using var trainer = new Trainer(TinyProblems.Mlp(2, dropout: 0), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Float32, Optimizer = new MixFit.Optimizers.OptimizerConfig { Name = "sgd", LearningRate = 0.1 } });
        using (var tracking = new TrackingCallback(store, "diverging", captureConsole: false))
        {
            trainer.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 16, Shuffle = false, Verbose = 0, Callbacks = new Callback[] { tracking } });
        }

        var run = store.List().Single();
        Assert.Equal(RunStatus.Finished, run.Status);
        var losses = store.Metrics(run.Id, "step").Select(p => p.Values["loss"]).ToList();
        Assert.Equal(16, losses.Count);
        Assert.True(double.IsFinite(losses[0]));
        Assert.All(losses.Skip(1), l => Assert.True(double.IsNaN(l)));
        Assert.False(double.IsFinite(run.Summary["loss"]));
    }
}
