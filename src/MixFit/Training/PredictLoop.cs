using MixFit.Callbacks;
using MixFit.Data;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>Keras' predict loop: <see cref="Trainer.PredictStep"/> over every batch in eval mode without gradients, the outputs concatenated on the CPU.</summary>
internal static class PredictLoop
{
    private static readonly IReadOnlyDictionary<string, double> NoLogs = new Dictionary<string, double>();

    /// <summary>Runs it; returns the outputs.</summary>
    /// <exception cref="ArgumentException">The dataset produced no batch.</exception>
    public static Tensor Run(Trainer trainer, IBatchSource data, IEnumerable<Callback> callbacks)
    {
        var context = new TrainingContext(trainer) { TestSteps = data.BatchesPerEpoch };
        var list = new CallbackList(callbacks, context);
        trainer.Module.eval();
        var outer = trainer.EnterLoop(context);
        var outputs = new List<Tensor>();
        try
        {
            list.PredictBegin(NoLogs);
            int batch = 0;
            using (no_grad())
            {
                foreach (var current in data.ScopedBatches(0))
                {
                    list.PredictBatchBegin(batch, NoLogs);
                    outputs.Add(trainer.PredictStep(current).cpu().MoveToOuterDisposeScope());
                    list.PredictBatchEnd(batch++, NoLogs);
                }
            }
        }
        finally
        {
            trainer.LeaveLoop(outer);
        }

        list.PredictEnd(NoLogs);
        if (outputs.Count == 0)
        {
            throw new ArgumentException("The prediction dataset is empty (0 samples).", nameof(data));
        }

        var all = cat(outputs, 0);
        outputs.ForEach(o => o.Dispose());
        return all;
    }
}
