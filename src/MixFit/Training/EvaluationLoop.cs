using MixFit.Callbacks;
using MixFit.Data;
using MixFit.Metrics;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>Keras' evaluation loop: <see cref="Trainer.TestStep"/> over every batch in eval mode without gradients, the test hooks around it.</summary>
internal static class EvaluationLoop
{
    private static readonly IReadOnlyDictionary<string, double> NoLogs = new Dictionary<string, double>();
    private static readonly FitOptions NoFit = new();

    /// <summary>Runs it; returns the logs and the samples (or steps) behind them.</summary>
    /// <exception cref="ArgumentException">The dataset produced no batch.</exception>
    public static (Dictionary<string, double> Logs, double Samples) Run(Trainer trainer, IBatchSource data, CallbackList callbacks, TrainingContext context)
    {
        // Fresh metric objects: validation inside Fit must not disturb the training epoch's running means.
        using var logs = new LogAccumulator(trainer.Metrics.Select(m => Metric.FromName(m.Name, trainer.Loss!)).ToList());
        DeviceLogs? batchLogs = null;
        context.TestSteps = data.BatchesPerEpoch;
        trainer.Module.eval();
        callbacks.TestBegin(NoLogs);
        int batch = 0;
        using (no_grad())
        {
            foreach (var current in data.ScopedBatches(0))
            {
                callbacks.TestBatchBegin(batch, NoLogs);
                batchLogs?.Expire();
                var returned = trainer.InLoop(new LoopStep(logs, batch == 0, context.Options ?? NoFit), () => trainer.TestStep(current));
                logs.AddStepValues(returned);
                FitLoop.AddNames(context, returned);
                batchLogs = new DeviceLogs(batch, logs.Names(), logs.Logs);
                callbacks.TestBatchEnd(batch++, batchLogs);
            }
        }

        if (batch == 0)
        {
            throw new ArgumentException("The evaluation dataset is empty (0 samples).", nameof(data));
        }

        var result = logs.Logs();
        callbacks.TestEnd(result);
        return (result, logs.Samples);
    }
}
