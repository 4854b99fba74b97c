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

        var run = store.List().Single();
        Assert.Equal(RunStatus.Finished, run.Status);
        Assert.Equal("mixed_float16", run.Config["policy"]!.ToString());
        Assert.Equal("32", run.Config["batch_size"]!.ToString());
        Assert.Equal("Adam", run.Config["optimizer"]!.ToString());
        Assert.Equal("dynamic", run.Config["loss_scale"]!.ToString());
        Assert.Equal("2.10.0.0", run.Config["environment"]!["libtorch"]!.ToString());
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
        Assert.True(run.Summary["peak_memory_mb"] > 10);
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
}
