using MixFit.Kernels;
using MixFit.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>
/// Loss scaling for float16 training, with PyTorch <c>GradScaler</c>'s verbs and Keras' defaults: multiply the loss
/// so small gradients survive float16, divide the scale out of the gradients exactly once, skip steps whose
/// gradients overflowed, and adapt the scale.
/// </summary>
/// <remarks>
/// <para>One iteration:</para>
/// <code>
/// scaler.Scale(loss).backward();      // loss * scale, computed in float32
/// scaler.Unscale(optimizer);          // optional: only needed to clip or inspect unscaled gradients
/// clipping.Apply(grads, kernels);     // on UNSCALED gradients
/// var outcome = scaler.Step(optimizer); // unscales if not done yet, checks inf/NaN, steps or skips
/// scaler.Update();                    // once per iteration, after every optimizer has stepped
/// </code>
/// <para>Dynamic algorithm: after <see cref="LossScaleOptions.GrowthInterval"/> consecutive finite iterations the
/// scale is multiplied by the growth factor (never to a non-finite value); any inf/NaN gradient multiplies it by
/// the backoff factor and resets the count. A skipped step changes neither parameters nor optimizer state.</para>
/// <para>Cost: with <see cref="AmpKernels.Fused"/> nothing here synchronises with the device; <see cref="GetScale"/>,
/// <see cref="GetSkippedSteps"/>, <see cref="GetState"/> and <see cref="StepOutcome.IsSkipped"/> do.
/// With <see cref="LossScaleMode.None"/> the scaler is a pass-through (scale 1), so loops never branch on it.</para>
/// <para>Misuse is an error: unscaling twice before <see cref="Update"/> (the gradients would be divided twice),
/// stepping the same optimizer twice, or updating when no optimizer stepped.</para>
/// </remarks>
public sealed class LossScaler : IDisposable
{
    private readonly Dictionary<Optimizer, Stage> stages = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Optimizer, Tensor> flags = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Optimizer> withoutGradients = new(ReferenceEqualityComparer.Instance);
    private Tensor? scale;
    private Tensor? invScale;
    private Tensor? growthTracker;
    private Tensor? skipped;
    private LossScalerState pending;
    private long iterations;

    /// <summary>Creates a scaler; <paramref name="options"/> defaults to dynamic scaling with Keras' defaults.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (growth &lt;= 1, backoff outside (0,1), interval &lt; 1, initial &lt;= 0).</exception>
    public LossScaler(LossScaleOptions? options = null, AmpKernels? kernels = null)
    {
        Options = (options ?? new LossScaleOptions()).Validated();
        Kernels = kernels ?? AmpKernels.Default;
        pending = new LossScalerState(Options.Mode, Options.Mode == LossScaleMode.None ? 1 : Options.InitialScale, 0, 0, 0);
    }

    private enum Stage
    {
        Unscaled,
        Stepped,
    }

    /// <summary>A pass-through scaler (scale 1, no checks).</summary>
    public static LossScaler Disabled() => new(LossScaleOptions.None);

    /// <summary>The configuration.</summary>
    public LossScaleOptions Options { get; }

    /// <summary>The kernels used to unscale, check and update.</summary>
    public AmpKernels Kernels { get; }

    /// <summary>The scaling mode.</summary>
    public LossScaleMode Mode => Options.Mode;

    /// <summary>Whether the scaler scales and checks (false for <see cref="LossScaleMode.None"/>).</summary>
    public bool IsEnabled => Mode != LossScaleMode.None;

    /// <summary>The scale as a 0-dim float32 device tensor (no sync), or null before the first <see cref="Scale"/>.</summary>
    public Tensor? ScaleTensor => scale;

    /// <summary>Whether float16 gradients may be unscaled (the pure <c>float16</c> policy, which has no float32 masters). Default false, as PyTorch.</summary>
    internal bool AllowHalfGradients { get; set; }

    /// <summary>Iterations completed (calls to <see cref="Update"/>), counted on the host.</summary>
    public long Iterations => iterations;


    /// <summary>Iterations skipped so far as a 0-dim float32 device tensor (no sync), or null before the first <see cref="Scale"/>.</summary>
    public Tensor? SkippedStepsTensor => skipped;

    /// <summary>Iterations skipped because a gradient was inf or NaN. Synchronises.</summary>
    public long GetSkippedSteps() => skipped is null ? pending.SkippedSteps : (long)HostReads.Item<float>(skipped);

    /// <summary>The current scale (1 when disabled). Synchronises.</summary>
    public double GetScale() => scale is null ? pending.Scale : HostReads.Item<float>(scale);

    /// <summary>Multiplies the loss by the scale, in float32 (a float16 loss times 65536 would overflow).</summary>
    public Tensor Scale(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (!IsEnabled)
        {
            return loss;
        }

        EnsureState(loss.device);
        return loss.to(ScalarType.Float32) * scale!;
    }

    /// <summary>Divides the scale out of <paramref name="scaled"/> (differentiable, on the device; unchanged when disabled).</summary>
    internal Tensor Unscaled(Tensor scaled)
    {
        if (!IsEnabled)
        {
            return scaled;
        }

        EnsureState(scaled.device);
        return scaled * invScale!.to(scaled.dtype);
    }

    /// <summary>
    /// Divides the scale out of <paramref name="optimizer"/>'s gradients in place and records whether any was inf or NaN.
    /// Call it before clipping; <see cref="Step"/> calls it when you did not.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already unscaled or stepped since the last <see cref="Update"/>.</exception>
    public void Unscale(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!IsEnabled)
        {
            return;
        }

        if (stages.TryGetValue(optimizer, out var stage))
        {
            throw new InvalidOperationException(stage == Stage.Unscaled
                ? "Unscale() was already called for this optimizer since the last Update(): unscaling again would divide the gradients by the scale twice."
                : "Unscale() called after Step() for this optimizer in the same iteration; call Update() first.");
        }

        var gradients = optimizer.Gradients();
        if (!AllowHalfGradients && gradients.Any(g => g.dtype == ScalarType.Float16))
        {
            // PyTorch's GradScaler.unscale_ refuses these too: unscaling in float16 loses the small gradients scaling saved.
            throw new InvalidOperationException(
                "Attempting to unscale float16 gradients: keep float32 master weights (a mixed policy, PrecisionStrategy) so gradients are unscaled in float32.");
        }

        // Keras: gradients applied without a prior ScaleLoss are unscaled by the current (initial) scale all the same.
        EnsureState(gradients.Length > 0 ? gradients[0].device : CPU);
        using var scope = NewDisposeScope();
        var foundInf = zeros(Array.Empty<long>(), ScalarType.Float32, scale!.device);
        foreach (var group in gradients.GroupBy(g => (g.device_type, g.device_index, g.dtype)))
        {
            var grads = group.ToArray();
            if (group.Key.device_type == scale.device_type && group.Key.device_index == scale.device_index)
            {
                Kernels.UnscaleAndCheck(grads, foundInf, invScale!);
            }
            else
            {
                // Gradients on another device (model parallelism) are checked there; flags meet on the scale's device.
                var device = grads[0].device;
                var deviceFlag = zeros(Array.Empty<long>(), ScalarType.Float32, device);
                Kernels.UnscaleAndCheck(grads, deviceFlag, invScale!.to(device));
                foundInf.add_(deviceFlag.to(foundInf.device));
            }
        }

        stages[optimizer] = Stage.Unscaled;
        flags[optimizer] = foundInf.MoveToOuterDisposeScope();
        if (gradients.Length == 0)
        {
            withoutGradients.Add(optimizer);
        }
        else
        {
            withoutGradients.Remove(optimizer);
        }
    }

    /// <summary>
    /// Unscales if needed, then applies <paramref name="optimizer"/>'s step unless a gradient was inf or NaN
    /// (parameters and optimizer state are then left untouched).
    /// </summary>
    /// <exception cref="InvalidOperationException">This optimizer already stepped since the last <see cref="Update"/>.</exception>
    public StepOutcome Step(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!IsEnabled)
        {
            optimizer.Step();
            return StepOutcome.Unchecked;
        }

        if (stages.TryGetValue(optimizer, out var stage) && stage == Stage.Stepped)
        {
            throw new InvalidOperationException("Step() was already called for this optimizer since the last Update().");
        }

        if (!stages.ContainsKey(optimizer))
        {
            Unscale(optimizer);
        }

        if (withoutGradients.Contains(optimizer))
        {
            throw new InvalidOperationException(
                "No inf checks were recorded for this optimizer: none of its parameters has a gradient (PyTorch's GradScaler says the same). "
                + "Call backward on a loss that depends on them before Step().");
        }

        var foundInf = flags[optimizer];
        optimizer.Step(foundInf);
        stages[optimizer] = Stage.Stepped;
        return new StepOutcome(foundInf);
    }

    /// <summary>
    /// Ends the iteration: adapts a dynamic scale from every optimizer's overflow flag (once, however many optimizers)
    /// and counts a skipped iteration. Call after every <see cref="Step"/> of the iteration.
    /// </summary>
    /// <exception cref="InvalidOperationException">No optimizer stepped since the last update, or one was unscaled but not stepped.</exception>
    public void Update()
    {
        if (!IsEnabled)
        {
            iterations++;
            return;
        }

        if (!stages.Values.Contains(Stage.Stepped))
        {
            throw new InvalidOperationException("Update() called but no optimizer stepped since the last Update(); call Step(optimizer) first.");
        }

        if (stages.Values.Contains(Stage.Unscaled))
        {
            throw new InvalidOperationException("Update() called while an optimizer was unscaled but not stepped; call Step(optimizer) for it first.");
        }

        using (var scope = NewDisposeScope())
        {
            var any = flags.Values.Count == 1 ? flags.Values.First() : stack(flags.Values.ToArray()).sum();
            bool dynamic = Mode == LossScaleMode.Dynamic;
            Kernels.UpdateScale(
                scale!, growthTracker!, any, invScale!, skipped!,
                dynamic ? Options.GrowthFactor : 1, dynamic ? Options.BackoffFactor : 1, dynamic ? Options.GrowthInterval : 1, Options.MinScale ?? 0);
        }

        stages.Clear();
        flags.Clear();
        withoutGradients.Clear();
        iterations++;
    }

    /// <summary>
    /// One whole iteration over <paramref name="optimizers"/>, the single implementation behind
    /// <see cref="PrecisionStrategy.Step(IReadOnlyList{Optimizer}, GradientClipping?)"/> and
    /// <see cref="LossScaleOptimizer.ApplyGradients()"/>: unscale each optimizer's gradients once, clip the unscaled
    /// gradients, check for inf/NaN, step or skip, then update the scale once.
    /// </summary>
    internal IReadOnlyList<StepOutcome> Apply(IReadOnlyList<Optimizer> optimizers, GradientClipping? clipping)
    {
        ArgumentNullException.ThrowIfNull(optimizers);
        foreach (var optimizer in optimizers)
        {
            Unscale(optimizer);
            if (clipping is not null)
            {
                using var scope = NewDisposeScope();
                clipping.Apply(optimizer.Gradients(), Kernels);
            }
        }

        var outcomes = optimizers.Select(Step).ToArray();
        Update();
        return outcomes;
    }

    /// <summary>The state to save with a checkpoint. Synchronises.</summary>
    public LossScalerState GetState() =>
        scale is null
            ? pending with { Iterations = iterations }
            : new LossScalerState(Mode, HostReads.Item<float>(scale), HostReads.Item<int>(growthTracker!), (long)HostReads.Item<float>(skipped!), iterations);

    /// <summary>
    /// Restores state saved by <see cref="GetState"/>. State saved without loss scaling (null or mode none) starts an
    /// enabled scaler from its initial scale, as tf-keras does when an unscaled checkpoint meets a loss-scale optimizer;
    /// a disabled scaler ignores any state. Validated first: a failed load leaves the scaler unchanged.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The saved scale is not a positive finite float32, or a count is negative.</exception>
    public void LoadState(LossScalerState? state)
    {
        Validate(state);
        if (!IsEnabled)
        {
            // A disabled scaler is a pass-through: there is nothing to restore (the strategy keeps the iteration count).
            return;
        }

        if (state is null || state.Mode == LossScaleMode.None)
        {
            state = new LossScalerState(Mode, Options.InitialScale, 0, 0, state?.Iterations ?? iterations);
        }

        pending = state with { Mode = Mode };
        iterations = state.Iterations;
        if (scale is not null)
        {
            scale.fill_(state.Scale);
            invScale!.fill_(1.0 / state.Scale);
            growthTracker!.fill_(state.GrowthTracker);
            skipped!.fill_(state.SkippedSteps);
        }
    }

    /// <summary>Checks saved state without applying it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The saved scale is not a positive finite float32, or a count is negative.</exception>
    public void Validate(LossScalerState? state)
    {
        if (state is null || state.Mode == LossScaleMode.None || !IsEnabled)
        {
            return;
        }

        if (!(state.Scale > 0) || !double.IsFinite(state.Scale) || state.Scale > float.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(state), state.Scale, $"Saved loss scale must be a positive finite float32, got {state.Scale}.");
        }

        if (state.GrowthTracker < 0 || state.SkippedSteps < 0 || state.Iterations < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(state), state, "Saved loss-scale counters must be non-negative.");
        }
    }

    /// <summary>Releases the device tensors.</summary>
    public void Dispose()
    {
        scale?.Dispose();
        invScale?.Dispose();
        growthTracker?.Dispose();
        skipped?.Dispose();
        scale = invScale = growthTracker = skipped = null;
    }

    private void EnsureState(Device device)
    {
        if (scale is not null)
        {
            return;
        }

        scale = full(Array.Empty<long>(), pending.Scale, ScalarType.Float32, device).DetachFromDisposeScope();
        invScale = full(Array.Empty<long>(), (double)(float)(1.0 / pending.Scale), ScalarType.Float32, device).DetachFromDisposeScope();
        growthTracker = full(Array.Empty<long>(), pending.GrowthTracker, ScalarType.Int32, device).DetachFromDisposeScope();
        skipped = full(Array.Empty<long>(), (double)pending.SkippedSteps, ScalarType.Float32, device).DetachFromDisposeScope();
    }
}
