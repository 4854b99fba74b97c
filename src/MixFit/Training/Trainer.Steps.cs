using MixFit.Callbacks;
using MixFit.Data;
using MixFit.Precision;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <content>The overridable steps (Keras' <c>train_step</c>, <c>test_step</c>, <c>predict_step</c>, <c>compute_loss</c>) and what they use of the loop.</content>
public partial class Trainer
{
    /// <summary>
    /// Keras' <c>train_step</c>: one training step on <paramref name="batch"/>, called by <see cref="Fit(IBatchSource, FitOptions?)"/>
    /// for every batch. The built-in step: <see cref="Forward"/>, <see cref="ComputeLoss"/>, the precision strategy's
    /// scaled backward and, at an accumulation boundary, its step (unscale, clip, check, step or skip, update the
    /// scale), then <see cref="UpdateMetrics"/>.
    /// </summary>
    /// <remarks>
    /// <para>Override it to customise what happens in fit (a GAN's two optimizers, a gradient penalty, a loss over
    /// several outputs) and keep everything around it: callbacks, the progress bar, history, tracking, checkpoints,
    /// data parallelism. Use the precision strategy's verbs so the step is as safe under <c>mixed_float16</c> as the
    /// built-in one: <c>Precision.Backward(loss, optimizer)</c> scales, <c>Precision.Step(optimizer)</c> unscales,
    /// checks, steps or skips and clears the gradients; <c>Precision.ScaleLoss</c>/<c>Unscale</c> take gradients
    /// through the scaled graph. Do not call <c>backward()</c> on an unscaled loss under float16.</para>
    /// <para>Return the step's logs as 0-dim device tensors by name (e.g. <c>d_loss</c>): each is shown and
    /// recorded as its mean over the epoch's steps, read from the device only when a callback asks (no extra sync).
    /// The compiled loss and metrics appear when the step calls <see cref="UpdateMetrics"/>; the strategy's loss
    /// scale(s) and the learning rate are added by the loop. Runs in the batch's dispose scope.</para>
    /// </remarks>
    public virtual IReadOnlyDictionary<string, Tensor> TrainStep(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var step = loopStep ?? throw OutsideLoop(nameof(TrainStep));
        var (output, target) = ForwardChecked(batch, "Training", step);

        if (step.ClassWeights is not null && batch.SampleWeight is not null)
        {
            throw new ArgumentException("The training batches carry sample weights and FitOptions.ClassWeight is set: use one or the other (as in Keras).");
        }

        var weight = step.ClassWeights?.SampleWeightsFor(output, target) ?? (batch.SampleWeight is { } given ? DeviceCopy.To(given, Precision.Device) : null);
        var loss = ComputeLoss(batch, output, target, weight);
        int accumulation = step.Options.GradientAccumulation;
        Precision.Backward(accumulation > 1 ? loss / accumulation : loss);
        if (step.Boundary)
        {
            Precision.Step(Optimizer!, step.Options.Clipping);
        }

        UpdateMetrics(loss, output, target, weight);
        return NoDeviceLogs;
    }

    /// <summary>
    /// Keras' <c>test_step</c>: one evaluation step (eval mode, no gradients), called by <see cref="Evaluate(IBatchSource, int, IEnumerable{Callback}?, TextWriter?)"/>
    /// and by Fit's validation. The built-in step: forward, <see cref="ComputeLoss"/>, <see cref="UpdateMetrics"/>.
    /// Returns logs as <see cref="TrainStep"/> does (means over the steps).
    /// </summary>
    public virtual IReadOnlyDictionary<string, Tensor> TestStep(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var (output, target) = ForwardChecked(batch, "Evaluation", loopStep ?? throw OutsideLoop(nameof(TestStep)));

        var weight = batch.SampleWeight is { } given ? DeviceCopy.To(given, Precision.Device) : null;
        UpdateMetrics(ComputeLoss(batch, output, target, weight), output, target, weight);
        return NoDeviceLogs;
    }

    /// <summary>Keras' <c>predict_step</c>: the model's output for one batch (eval mode, no gradients); the built-in step is <see cref="Forward"/>.</summary>
    public virtual Tensor PredictStep(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Forward(batch.X);
    }

    /// <summary>
    /// Keras' <c>compute_loss</c>: the float32 loss of <paramref name="output"/> against <paramref name="target"/>,
    /// weighted by <paramref name="sampleWeight"/> ([batch]) when given. The built-in: the compiled <see cref="Loss"/>.
    /// Override it to add terms (regularisers, auxiliary outputs) and keep the built-in step.
    /// </summary>
    public virtual Tensor ComputeLoss(Batch batch, Tensor output, Tensor target, Tensor? sampleWeight)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(target);
        return (Loss ?? throw NotCompiled()).Compute(output, target, sampleWeight);
    }

    /// <summary>
    /// The model's output for <paramref name="x"/> through the precision strategy: the input cast to the compute
    /// dtype on the model's device, the output cast back to float32 (float64 under <c>float64</c>).
    /// </summary>
    protected Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var input = Precision.ConvertInput(x);
        return precision!.ConvertOutput(Module.call(channelsLast ? MemoryLayout.ChannelsLast(input) : input));
    }

    /// <summary>
    /// Adds a batch to the compiled loss tracker and metrics (Keras' <c>compute_metrics</c>), on the device, no sync;
    /// for a custom <see cref="TrainStep"/> or <see cref="TestStep"/> that wants <c>loss</c> and the compiled metrics
    /// (e.g. <c>accuracy</c>) in its logs.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called outside a step of Fit or Evaluate.</exception>
    protected void UpdateMetrics(Tensor loss, Tensor output, Tensor target, Tensor? sampleWeight)
    {
        var step = loopStep ?? throw OutsideLoop(nameof(UpdateMetrics));
        step.Logs.Update(loss, output, target, sampleWeight);
    }

    /// <summary>What the running Fit, Evaluate or Predict shows callbacks (the options, the epoch and step); null between loops.</summary>
    protected TrainingContext? Context { get; private set; }

    /// <summary>The built-in steps' forward: the output and the targets on the device, checked against the loss on the loop's first batch.</summary>
    private (Tensor Output, Tensor Target) ForwardChecked(Batch batch, string loop, LoopStep step)
    {
        var target = DeviceCopy.To(Targets(batch, loop), Precision.Device);
        var output = Forward(batch.X);
        if (step.ValidateTargets)
        {
            Loss!.Validate(output, target);
        }

        return (output, target);
    }

    /// <summary>Whether this trainer's class overrides <see cref="TrainStep"/>.</summary>
    internal bool HasCustomTrainStep => GetType().GetMethod(nameof(TrainStep), new[] { typeof(Batch) })!.DeclaringType != typeof(Trainer);

    /// <summary>Runs <paramref name="run"/> as a step of the loop whose state is <paramref name="step"/>.</summary>
    internal T InLoop<T>(LoopStep step, Func<T> run)
    {
        loopStep = step;
        try
        {
            return run();
        }
        finally
        {
            loopStep = null;
        }
    }

    /// <summary>Starts a loop whose steps see <paramref name="context"/>; returns the enclosing loop's (an Evaluate inside a Fit's callback), for <see cref="LeaveLoop"/>.</summary>
    internal TrainingContext? EnterLoop(TrainingContext context)
    {
        var outer = Context;
        Context = context;
        return outer;
    }

    /// <summary>Ends a loop: <see cref="Context"/> is the enclosing loop's again (<paramref name="outer"/>), else null.</summary>
    internal void LeaveLoop(TrainingContext? outer = null) => Context = outer;

    private static InvalidOperationException OutsideLoop(string member) =>
        new($"{member} is called by Fit, Evaluate and Predict for each batch; call those (or, in your own loop, the precision strategy's verbs) instead.");
}
