using MixFit.Callbacks;
using MixFit.Optimizers;
using MixFit.Tests.Support;
using MixFit.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Tests.Callbacks;

public class CallbackTests
{
    private sealed class Recorder : Callback
    {
        public List<string> Calls { get; } = new();

        public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs) => Calls.Add("train_begin");

        public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) => Calls.Add("train_end");

        public override void OnEpochBegin(int epoch, IReadOnlyDictionary<string, double> logs) => Calls.Add($"epoch_begin {epoch}");

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => Calls.Add($"epoch_end {epoch} [{string.Join(",", logs.Keys.Order(StringComparer.Ordinal))}]");

        public override void OnTrainBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) => Calls.Add($"batch_begin {batch}");

        public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Calls.Add($"batch_end {batch}");

        public override void OnTestBegin(IReadOnlyDictionary<string, double> logs) => Calls.Add("test_begin");

        public override void OnTestEnd(IReadOnlyDictionary<string, double> logs) => Calls.Add("test_end");

        public override void OnTestBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) => Calls.Add($"test_batch_begin {batch}");

        public override void OnTestBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Calls.Add($"test_batch_end {batch}");

        public override void OnPredictBegin(IReadOnlyDictionary<string, double> logs) => Calls.Add("predict_begin");

        public override void OnPredictEnd(IReadOnlyDictionary<string, double> logs) => Calls.Add("predict_end");

        public override void OnPredictBatchBegin(int batch, IReadOnlyDictionary<string, double> logs) => Calls.Add($"predict_batch_begin {batch}");

        public override void OnPredictBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Calls.Add($"predict_batch_end {batch}");
    }

    private static Trainer NewTrainer(long seed = 1, double dropout = 0)
    {
        var trainer = new Trainer(TinyProblems.Mlp(seed, dropout), CPU);
        trainer.Compile(new CompileOptions { Metrics = new[] { "accuracy" } });
        return trainer;
    }

    [Fact]
    public void Hooks_run_in_keras_order_with_validation_inside_the_epoch()
    {
        var (x, y) = TinyProblems.FashionMnist(40);
        var recorder = new Recorder();
        using var trainer = NewTrainer();
        trainer.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 16, ValidationSplit = 0.2, Verbose = 0, Callbacks = new[] { recorder } });
        const string keys = "[accuracy,epoch_seconds,loss,lr,val_accuracy,val_loss]";
        var expected = new List<string> { "train_begin" };
        for (int epoch = 0; epoch < 2; epoch++)
        {
            expected.Add($"epoch_begin {epoch}");
            expected.AddRange(new[] { "batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1" });
            expected.AddRange(new[] { "test_begin", "test_batch_begin 0", "test_batch_end 0", "test_end" });
            expected.Add($"epoch_end {epoch} {keys}");
        }

        expected.Add("train_end");
        Assert.Equal(expected, recorder.Calls);

        recorder.Calls.Clear();
        trainer.Predict(new MixFit.Data.TensorBatchSource(x, null, 32), new[] { recorder });
        Assert.Equal(new[] { "predict_begin", "predict_batch_begin 0", "predict_batch_end 0", "predict_batch_begin 1", "predict_batch_end 1", "predict_end" }, recorder.Calls);
    }

    [Fact]
    public void A_throwing_callback_is_named_with_its_hook()
    {
        var (x, y) = TinyProblems.FashionMnist(32);
        using var trainer = NewTrainer();
        var bad = new LambdaCallback { EpochEnd = (_, _) => throw new InvalidOperationException("disk full") };
        var e = Assert.Throws<CallbackException>(() => trainer.Fit(x, y, new FitOptions { Verbose = 0, Callbacks = new[] { bad } }));
        Assert.Equal("Callback LambdaCallback failed in OnEpochEnd: disk full", e.Message);
        Assert.IsType<InvalidOperationException>(e.InnerException);
    }

    [Fact]
    public void A_callback_stops_training_through_the_context()
    {
        var (x, y) = TinyProblems.FashionMnist(64);
        using var trainer = NewTrainer();
        int batches = 0;
        var counting = new LambdaCallback { BatchEnd = (b, _) => batches++ };
        var stop = new StopAfter(batch: 1);
        var history = trainer.Fit(x, y, new FitOptions { Epochs = 5, BatchSize = 16, Verbose = 0, Callbacks = new Callback[] { counting, stop } });
        Assert.Equal(2, batches);
        Assert.Single(history.Epochs);
    }

    private sealed class StopAfter(int batch) : Callback
    {
        public override void OnTrainBatchEnd(int b, IReadOnlyDictionary<string, double> logs)
        {
            if (b == batch)
            {
                Context.StopTraining = true;
            }
        }
    }

    [Fact]
    public void Early_stopping_stops_after_patience_and_restores_the_best_weights()
    {
        var (x, y) = TinyProblems.FashionMnist(64);
        using var trainer = NewTrainer();
        Dictionary<string, Tensor>? afterFirst = null;
        var capture = new LambdaCallback { EpochEnd = (epoch, _) => { if (epoch == 0) { afterFirst = trainer.GetWeights(); } } };
        var output = new StringWriter();

        // Loss falls every epoch; monitored in "max" mode, the first epoch is the best and the next one exhausts patience 1.
        var early = new EarlyStopping("loss", mode: MonitorMode.Max, patience: 1, restoreBestWeights: true, verbose: 1, output: output);
        var history = trainer.Fit(x, y, new FitOptions { Epochs = 10, BatchSize = 16, Verbose = 0, Callbacks = new Callback[] { capture, early } });

        Assert.Equal(new[] { 0, 1 }, history.Epochs);
        Assert.Equal(1, early.StoppedEpoch);
        Assert.Equal(0, early.BestEpoch);
        Assert.Equal($"Epoch 2: early stopping{Environment.NewLine}Restoring model weights from the end of the best epoch: 1.{Environment.NewLine}", output.ToString());
        foreach (var (name, value) in trainer.GetWeights())
        {
            Assert.True(value.Equals(afterFirst![name]), $"{name} was not restored");
        }
    }

    [Fact]
    public void Terminate_on_nan_stops_at_the_batch_whose_loss_is_nan()
    {
        var (x, y) = TinyProblems.FashionMnist(64);
        var poisoned = x.clone();
        poisoned[40, 0, 0, 0] = tensor(float.NaN);
        using var trainer = NewTrainer();
        var output = new StringWriter();
        int lastBatch = -1;
        var history = trainer.Fit(poisoned, y, new FitOptions
        {
            Epochs = 3, BatchSize = 16, Shuffle = false, Verbose = 0,
            Callbacks = new Callback[] { new TerminateOnNaN(output), new LambdaCallback { BatchEnd = (b, _) => lastBatch = b } },
        });
        Assert.Equal("Batch 2: Invalid loss, terminating training" + Environment.NewLine, output.ToString());
        Assert.Equal(2, lastBatch);
        Assert.Single(history.Epochs);
    }

    [Fact]
    public void Reduce_lr_on_plateau_multiplies_the_rate_with_keras_message()
    {
        var (x, y) = TinyProblems.FashionMnist(32);
        using var trainer = NewTrainer();
        var output = new StringWriter();
        var reduce = new ReduceLROnPlateau("loss", factor: 0.1, patience: 1, mode: MonitorMode.Max, verbose: 1, output: output);
        trainer.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 16, Verbose = 0, Callbacks = new[] { reduce } });
        Assert.Equal(1e-5, trainer.Optimizer!.LearningRate, 12);
        Assert.Equal($"Epoch 2: ReduceLROnPlateau reducing learning rate to 0.0001.{Environment.NewLine}Epoch 3: ReduceLROnPlateau reducing learning rate to 1e-05.{Environment.NewLine}", output.ToString());
    }

    [Fact]
    public void Learning_rate_scheduler_sets_the_rate_each_epoch()
    {
        var (x, y) = TinyProblems.FashionMnist(32);
        using var trainer = NewTrainer();
        var history = trainer.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 16, Verbose = 0, Callbacks = new[] { new LearningRateScheduler((epoch, lr) => 0.01 / (epoch + 1)) } });
        Assert.Equal(new[] { 0.01, 0.005, 0.01 / 3 }, history["lr"]);
    }

    [Fact]
    public void Csv_logger_writes_a_sorted_header_and_na_for_missing_values()
    {
        var (x, y) = TinyProblems.FashionMnist(32);
        string path = Path.Combine(Directory.CreateTempSubdirectory("mixfit-csv-").FullName, "log.csv");
        using var trainer = NewTrainer();
        trainer.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 16, Verbose = 0, Callbacks = new Callback[] { new CsvLogger(path) } });
        var lines = File.ReadAllLines(path);
        Assert.Equal("epoch,accuracy,epoch_seconds,loss,lr", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("1,", lines[2]);
        Assert.Equal(5, lines[1].Split(',').Length);
        Assert.DoesNotContain("NA", lines.Skip(1).SelectMany(l => l.Split(',')));

        // A log started by a fit with validation, then appended to by a fit without: the header keeps the val_
        // columns and the appended row has NA there (Keras' CSVLogger).
        string withValidation = Path.Combine(Path.GetDirectoryName(path)!, "val.csv");
        trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16, Verbose = 0, ValidationSplit = 0.5, Callbacks = new Callback[] { new CsvLogger(withValidation) } });
        trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16, Verbose = 0, Callbacks = new Callback[] { new CsvLogger(withValidation, append: true) } });
        var appended = File.ReadAllLines(withValidation);
        Assert.Equal("epoch,accuracy,epoch_seconds,loss,lr,val_accuracy,val_loss", appended[0]);
        Assert.Equal(3, appended.Length);
        Assert.DoesNotContain("NA", appended[1].Split(','));
        Assert.Equal(new[] { "NA", "NA" }, appended[2].Split(',')[^2..]);
        Assert.All(appended[2].Split(',')[..^2], v => Assert.True(double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _), v));
    }

    [Fact]
    public void Model_checkpoint_saves_only_improvements_with_keras_messages()
    {
        var (x, y) = TinyProblems.FashionMnist(48);
        string dir = Directory.CreateTempSubdirectory("mixfit-mc-").FullName;
        using var trainer = NewTrainer();
        var output = new StringWriter();
        var checkpoint = new ModelCheckpoint(Path.Combine(dir, "model-{epoch:02d}.safetensors"), monitor: "loss", mode: MonitorMode.Max, saveBestOnly: true, saveWeightsOnly: true, verbose: 1, output: output);
        trainer.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 16, Verbose = 0, Callbacks = new[] { checkpoint } });
        Assert.Equal(new[] { Path.Combine(dir, "model-01.safetensors") }, checkpoint.Saved);
        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("Epoch 1: loss improved from -inf to ", lines[0]);
        Assert.EndsWith($", saving model to {Path.Combine(dir, "model-01.safetensors")}", lines[0]);
        Assert.Matches(@"^Epoch 2: loss did not improve from \d+\.\d{5}$", lines[1]);
        Assert.True(File.Exists(checkpoint.Saved[0]));
    }

    [Fact]
    public void Checkpoint_paths_fill_epoch_and_metric_placeholders()
    {
        var logs = new Dictionary<string, double> { ["val_loss"] = 0.41234 };
        Assert.Equal("ckpt/e03-0.41.bin", ModelCheckpoint.FormatPath("ckpt/e{epoch:02d}-{val_loss:.2f}.bin", 2, logs));
        Assert.Equal("w7", ModelCheckpoint.FormatPath("w{epoch}", 6, logs));
        Assert.Throws<KeyNotFoundException>(() => ModelCheckpoint.FormatPath("{val_acc:.2f}", 0, logs));
    }
}
