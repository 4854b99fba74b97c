using MixFit.Callbacks;
using MixFit.Optimizers;
using MixFit.Tests.Support;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Callbacks;

/// <summary>Callbacks run by their <see cref="Callback.Order"/> (fastai's <c>order</c>), not by their place in the list.</summary>
public sealed class CallbackOrderTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-order-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private sealed class Recorder(string name, int order, List<string> calls) : Callback
    {
        public override int Order => order;

        public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs) => calls.Add(name);
    }

    [Fact]
    public void Hooks_run_in_ascending_order_and_in_list_order_among_equals()
    {
        var calls = new List<string>();
        using var trainer = new Trainer(TinyProblems.Mlp(seed: 1), CPU);
        var list = new CallbackList(new Callback[]
        {
            new Recorder("late", Callback.HistoryOrder, calls),
            new Recorder("user a", 0, calls),
            new Recorder("tracker", Callback.TrackingOrder, calls),
            new Recorder("user b", 0, calls),
            new Recorder("restore", Callback.RestoreOrder, calls),
        }, new TrainingContext(trainer));
        list.TrainBegin(new Dictionary<string, double>());
        Assert.Equal(new[] { "restore", "tracker", "user a", "user b", "late" }, calls);
    }

    [Fact]
    public void A_callback_listed_before_backup_and_restore_sees_the_restored_position_at_train_begin()
    {
        var (x, y) = TinyProblems.FashionMnist(128);
        string backup = Path.Combine(dir, "backup");
        var options = new CompileOptions { Optimizer = new OptimizerConfig { Name = "sgd", LearningRate = 0.01 } };
        using (var first = new Trainer(TinyProblems.Mlp(seed: 2), CPU))
        {
            // Keep the backup (no deletion on completion): the next fit resumes after epoch 2.
            first.Compile(options);
            first.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 64, Verbose = 0, Callbacks = new Callback[] { new BackupAndRestore(backup, deleteOnCompletion: false) } });
        }

        using var second = new Trainer(TinyProblems.Mlp(seed: 3), CPU);
        second.Compile(options);
        var reader = new PositionReader();
        var history = second.Fit(x, y, new FitOptions
        {
            Epochs = 3,
            BatchSize = 64,
            Verbose = 0,
            Callbacks = new Callback[] { reader, new BackupAndRestore(backup, deleteOnCompletion: false) },
        });

        Assert.Equal(2, reader.InitialEpoch);
        Assert.Equal(new[] { 2 }, history.Epochs);
    }

    /// <summary>Reads the position the fit starts at, at train begin (default order: after the restore).</summary>
    private sealed class PositionReader : Callback
    {
        public int InitialEpoch { get; private set; } = -1;

        public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs) => InitialEpoch = Context.InitialEpoch;
    }
}
