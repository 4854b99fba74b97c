using MixFit.Callbacks;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Training;

public class TrainingContextTests
{
    private sealed class StopAt(int batch, StopReason reason) : Callback
    {
        public StopReason Seen { get; private set; }

        public override void OnTrainBatchEnd(int b, IReadOnlyDictionary<string, double> logs)
        {
            if (b == batch)
            {
                Context.RequestStop(reason);
            }
        }

        public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) => Seen = Context.StopReason;
    }

    [Fact]
    public void An_interruption_overrides_a_plain_request_and_a_request_never_downgrades_it()
    {
        using var trainer = new Trainer(TinyProblems.Mlp(1), CPU);
        var context = new TrainingContext(trainer);
        Assert.Equal(StopReason.None, context.StopReason);
        context.StopTraining = true;
        Assert.Equal(StopReason.Requested, context.StopReason);
        context.RequestStop(StopReason.Interrupted);
        context.RequestStop(StopReason.Requested);
        Assert.Equal(StopReason.Interrupted, context.StopReason);
        Assert.True(context.StopTraining);
        context.StopTraining = false;
        Assert.Equal(StopReason.None, context.StopReason);
        Assert.Throws<ArgumentOutOfRangeException>(() => context.RequestStop(StopReason.None));
    }

    [Fact]
    public void Every_callback_reads_why_the_fit_stopped()
    {
        var (x, y) = TinyProblems.FashionMnist(128);
        using var trainer = new Trainer(TinyProblems.Mlp(2), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Float32 });
        var stopper = new StopAt(1, StopReason.Interrupted);
        var observer = new StopAt(-1, StopReason.Requested);
        var history = trainer.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 32, Verbose = 0, Callbacks = new Callback[] { stopper, observer } });
        Assert.Equal(StopReason.Interrupted, observer.Seen);
        Assert.Equal((0, 2), observer.Context.InterruptedAt);
        Assert.Empty(history.Epochs);                 // interrupted inside epoch 0: it did not complete, so it has no epoch end
    }
}
