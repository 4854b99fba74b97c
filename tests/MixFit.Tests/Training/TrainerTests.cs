using MixFit.Applications;
using MixFit.Callbacks;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Tests.Training;

public class TrainerTests
{
    private static Trainer Regression(double w, double b)
    {
        var linear = nn.Linear(1, 1);
        using (no_grad())
        {
            linear.weight!.fill_(w);
            linear.bias!.fill_(b);
        }

        return new Trainer(nn.Sequential(("linear", linear)), CPU);
    }

    [Fact]
    public void History_holds_the_hand_computed_losses_of_a_linear_regression()
    {
        using var trainer = Regression(0, 0);
        trainer.Compile(new CompileOptions { Loss = "mse", Optimizer = new OptimizerConfig { Name = "sgd", LearningRate = 0.1 } });
        var x = tensor(new float[] { 1, 2 }).reshape(2, 1);
        var y = tensor(new float[] { 2, 4 }).reshape(2, 1);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var history = trainer.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 2, Shuffle = false, Verbose = 0 });
        double fitSeconds = watch.Elapsed.TotalSeconds;

        // Epoch 1 at w=0,b=0: (4+16)/2 = 10; gradients -10 and -6 move to w=1, b=0.6; epoch 2: (0.16+1.96)/2 = 1.06.
        Assert.Equal(new[] { 0, 1 }, history.Epochs);
        Assert.Equal(10.0, history["loss"][0], 5);
        Assert.Equal(1.06, history["loss"][1], 5);
        Assert.Equal(0.1, history["lr"][1], 12);
        Assert.All(history["epoch_seconds"], t => Assert.InRange(t, 1e-7, fitSeconds));
        Assert.True(history["epoch_seconds"].Sum() <= fitSeconds, "the epochs cannot take longer than the fit");
    }

    [Fact]
    public void Steps_per_epoch_caps_each_epoch_and_the_progress_bar_target()
    {
        var (x, y) = TinyProblems.FashionMnist(160);
        using var trainer = new Trainer(TinyProblems.Mlp(1), CPU);
        trainer.Compile();
        int batches = 0;
        var output = new StringWriter();
        trainer.Fit(x, y, new FitOptions
        {
            Epochs = 2, BatchSize = 16, StepsPerEpoch = 3, Output = output,
            Callbacks = new MixFit.Callbacks.Callback[] { new MixFit.Callbacks.LambdaCallback { BatchEnd = (_, _) => batches++ } },
        });
        Assert.Equal(6, batches);
        Assert.Contains("3/3 [==============================]", output.ToString());
    }

    [Fact]
    public void Fit_accepts_plain_dotnet_arrays()
    {
        using var trainer = Regression(0, 0);
        trainer.Compile(new CompileOptions { Loss = "mse", Optimizer = new OptimizerConfig { Name = "sgd", LearningRate = 0.1 } });
        var history = trainer.Fit(new float[,] { { 1 }, { 2 } }, new float[,] { { 2 }, { 4 } }, new FitOptions { BatchSize = 2, Shuffle = false, Verbose = 0 });
        Assert.Equal(10.0, history["loss"][0], 5);
    }

    [Fact]
    public void Evaluate_and_predict_return_float32_on_the_cpu()
    {
        using var trainer = Regression(2, 0);
        trainer.Compile(new CompileOptions { Loss = "mae", Policy = DTypePolicy.MixedBFloat16 });
        var x = tensor(new float[] { 1, 2, 3 }).reshape(3, 1);
        var result = trainer.Evaluate(x, x * 2, batchSize: 2, verbose: 0);
        Assert.Equal(0.0, result["loss"], 2);
        var prediction = trainer.Predict(x, batchSize: 2);
        Assert.Equal(ScalarType.Float32, prediction.dtype);
        Assert.Equal(new long[] { 3, 1 }, prediction.shape);
        Assert.Equal(6f, prediction[2, 0].item<float>(), 1);
    }

    [Fact]
    public void Evaluate_and_predict_switch_off_dropout_and_leave_batch_norm_statistics_alone()
    {
        manual_seed(4);
        var bn = nn.BatchNorm1d(8);
        var model = nn.Sequential(("fc1", nn.Linear(4, 8)), ("bn", bn), ("relu", nn.ReLU()), ("dropout", nn.Dropout(0.9)), ("fc2", nn.Linear(8, 2)));
        using var trainer = new Trainer(model, CPU);
        trainer.Compile(new CompileOptions { Loss = "mse", Policy = DTypePolicy.Float32 });
        var x = randn(16, 4) * 3 + 1;
        var y = randn(16, 2);
        var mean = bn.running_mean!.clone();
        var variance = bn.running_var!.clone();

        var first = trainer.Evaluate(x, y, batchSize: 8, verbose: 0);
        var second = trainer.Evaluate(x, y, batchSize: 8, verbose: 0);
        var predicted = trainer.Predict(x, batchSize: 8);
        var again = trainer.Predict(x, batchSize: 8);

        Assert.Equal(first["loss"], second["loss"]);                    // dropout at 0.9 would make these differ
        Assert.Equal(T.Values(predicted), T.Values(again));
        Assert.True(mean.Equals(bn.running_mean!), "Evaluate/Predict updated BatchNorm's running mean");
        Assert.True(variance.Equals(bn.running_var!), "Evaluate/Predict updated BatchNorm's running variance");
        model.eval();
        using (no_grad())
        {
            Assert.Equal(T.Values(model.call(x)), T.Values(predicted));   // exactly the eval-mode forward
        }
    }

    [Theory]
    [InlineData("mixed_float16", LossScaleMode.Dynamic)]
    [InlineData("mixed_bfloat16", LossScaleMode.None)]
    [InlineData("float32", LossScaleMode.None)]
    public void Auto_loss_scaling_applies_to_mixed_float16_only(string policy, LossScaleMode expected)
    {
        using var trainer = new Trainer(SmallCnn.Create(), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Parse(policy) });
        Assert.Equal(expected, trainer.Precision.Scaler.Mode);
    }

    [Fact]
    public void Auto_loss_scaling_can_be_switched_off_or_overridden()
    {
        using var off = new Trainer(SmallCnn.Create(), CPU);
        off.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, AutoScaleLoss = false });
        Assert.Equal(LossScaleMode.None, off.Precision.Scaler.Mode);

        using var fixedScale = new Trainer(SmallCnn.Create(), CPU);
        fixedScale.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16, LossScale = LossScaleOptions.Fixed(256) });
        Assert.Equal(LossScaleMode.Fixed, fixedScale.Precision.Scaler.Mode);
    }

    [Fact]
    public void Mixed_float16_logs_the_loss_scale_and_skipped_steps_every_step()
    {
        var (x, y) = TinyProblems.FashionMnist(64);
        using var trainer = new Trainer(TinyProblems.Mlp(1), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16 });
        var seen = new List<IReadOnlyDictionary<string, double>>();
        trainer.Fit(x, y, new FitOptions { BatchSize = 32, Verbose = 0, Callbacks = new[] { new LambdaCallback { BatchEnd = (_, logs) => seen.Add(new Dictionary<string, double>(logs)) } } });
        Assert.Equal(2, seen.Count);
        Assert.All(seen, logs =>
        {
            Assert.Equal(32768, logs["loss_scale"]);
            Assert.Equal(0, logs["skipped_steps"]);
            Assert.Equal(1e-3, logs["lr"]);
            Assert.True(logs["ms_per_step"] > 0);
        });
    }

    [Fact]
    public void Unknown_optimizer_loss_and_metric_names_list_the_valid_ones()
    {
        using var trainer = new Trainer(SmallCnn.Create(), CPU);
        var e1 = Assert.Throws<ArgumentException>(() => trainer.Compile(new CompileOptions { Optimizer = new OptimizerConfig { Name = "adagrad" } }));
        Assert.Contains("\"adagrad\"", e1.Message);
        Assert.Contains("rmsprop", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => trainer.Compile(new CompileOptions { Loss = "hinge" }));
        Assert.Contains("sparse_categorical_crossentropy", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => trainer.Compile(new CompileOptions { Metrics = new[] { "f1" } }));
        Assert.Contains("sparse_top_k_categorical_accuracy", e3.Message);
    }

    [Fact]
    public void Mismatched_outputs_and_labels_name_both_shapes()
    {
        using var trainer = new Trainer(SmallCnn.Create(), CPU);
        trainer.Compile(new CompileOptions { Loss = "categorical_crossentropy" });
        var e = Assert.Throws<ArgumentException>(() => trainer.Fit(randn(4, 1, 28, 28), zeros(4, 3), new FitOptions { Verbose = 0 }));
        Assert.Contains("[4,10]", e.Message);
        Assert.Contains("[4,3]", e.Message);
    }

    [Fact]
    public void A_label_outside_the_classes_names_the_offending_value()
    {
        using var trainer = new Trainer(SmallCnn.Create(), CPU);
        trainer.Compile();
        var e = Assert.Throws<ArgumentException>(() => trainer.Fit(randn(4, 1, 28, 28), tensor(new long[] { 0, 3, 12, 1 }), new FitOptions { Verbose = 0 }));
        Assert.Contains("label 12", e.Message);
        Assert.Contains("0..9", e.Message);
    }

    [Fact]
    public void Empty_data_zero_epochs_and_bad_validation_splits_are_refused_with_the_value()
    {
        using var trainer = new Trainer(SmallCnn.Create(), CPU);
        trainer.Compile();
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => trainer.Fit(zeros(0, 1, 28, 28), zeros(0, dtype: ScalarType.Int64))).Message);
        var x = randn(8, 1, 28, 28);
        var y = zeros(8, dtype: ScalarType.Int64);
        Assert.Contains("got 0", Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(x, y, new FitOptions { Epochs = 0 })).Message);
        Assert.Contains("got 1.5", Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(x, y, new FitOptions { ValidationSplit = 1.5 })).Message);
        Assert.Contains("got -0.2", Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(x, y, new FitOptions { ValidationSplit = -0.2 })).Message);
    }

    [Fact]
    public void The_same_seed_gives_an_identical_history()
    {
        var (x, y) = TinyProblems.FashionMnist(128);

        IReadOnlyList<double> Run()
        {
            Session.Clear(seed: 5);
            using var trainer = new Trainer(TinyProblems.Mlp(5), CPU);
            trainer.Compile(new CompileOptions { Metrics = new[] { "accuracy" } });
            return trainer.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32, Seed = 9, Verbose = 0 })["loss"];
        }

        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Fit_and_evaluate_leak_no_tensors()
    {
        var (x, y) = TinyProblems.FashionMnist(64);
        using var trainer = new Trainer(TinyProblems.Mlp(2), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, Metrics = new[] { "accuracy" } });
        var options = new FitOptions { Epochs = 1, BatchSize = 16, Verbose = 0, ValidationSplit = 0.25 };
        trainer.Fit(x, y, options);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long before = Tensor.TotalCount;

        // No collection while measuring: an undisposed tensor must show up in the count, not be finalized away.
        Assert.True(GC.TryStartNoGCRegion(200 << 20));
        long after;
        try
        {
            trainer.Fit(x, y, options with { Epochs = 3, InitialEpoch = 1 });
            trainer.Evaluate(x, y, batchSize: 16, verbose: 0);
            after = Tensor.TotalCount;
        }
        finally
        {
            GC.EndNoGCRegion();
        }

        Assert.Equal(before, after);
    }

    [Fact]
    public void Recompiling_under_another_policy_is_refused()
    {
        using var trainer = new Trainer(SmallCnn.Create(), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16 });
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16, Optimizer = new OptimizerConfig { Name = "sgd", LearningRate = 0.01 } });
        Assert.IsType<Sgd>(trainer.Optimizer);
        Assert.Throws<InvalidOperationException>(() => trainer.Compile(new CompileOptions { Policy = DTypePolicy.Float32 }));
    }

    [Fact]
    public void Gradient_accumulation_of_two_halves_matches_one_full_batch()
    {
        var (x, y) = TinyProblems.FashionMnist(64);

        Dictionary<string, Tensor> Train(int batch, int accumulation)
        {
            using var trainer = new Trainer(TinyProblems.Mlp(3, dropout: 0), CPU);
            trainer.Compile(new CompileOptions { Optimizer = new OptimizerConfig { Name = "sgd", LearningRate = 0.1 } });
            trainer.Fit(x, y, new FitOptions { BatchSize = batch, GradientAccumulation = accumulation, Shuffle = false, Verbose = 0 });
            return trainer.GetWeights();
        }

        var whole = Train(64, 1);
        var halves = Train(32, 2);
        Assert.Equal(0, (whole["fc2.weight"] - halves["fc2.weight"]).abs().max().item<float>(), 5);
    }
}
