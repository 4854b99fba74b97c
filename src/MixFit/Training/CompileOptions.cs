using System.Text.Json.Serialization;
using MixFit.Kernels;
using MixFit.Losses;
using MixFit.Optimizers;
using MixFit.Precision;
using TorchSharp.Modules;

namespace MixFit.Training;

/// <summary>What <see cref="Trainer.Compile"/> sets up (Keras' <c>compile</c> arguments).</summary>
public sealed record CompileOptions
{
    /// <summary>The optimizer by name and hyper-parameters. Default: adam, learning rate 1e-3.</summary>
    public OptimizerConfig Optimizer { get; init; } = new();

    /// <summary>
    /// Builds the optimizer instead of <see cref="Optimizer"/>. It receives the parameters to update, which exist only
    /// once the precision strategy has converted the model (float32 masters under a mixed policy).
    /// </summary>
    [JsonIgnore]
    public Func<IReadOnlyList<Parameter>, MixFit.Optimizers.Optimizer>? OptimizerFactory { get; init; }

    /// <summary>The loss by Keras name. Default <c>sparse_categorical_crossentropy</c>.</summary>
    public string Loss { get; init; } = "sparse_categorical_crossentropy";

    /// <summary>Whether the model outputs logits (default) rather than probabilities; applies to cross-entropies.</summary>
    public bool FromLogits { get; init; } = true;

    /// <summary>Label smoothing for categorical cross-entropies, in [0, 1).</summary>
    public double LabelSmoothing { get; init; }

    /// <summary>Metric names, e.g. <c>accuracy</c> (resolved from the loss as Keras does).</summary>
    public IReadOnlyList<string> Metrics { get; init; } = Array.Empty<string>();

    /// <summary>The precision policy; null means <see cref="DTypePolicy.Global"/>.</summary>
    public DTypePolicy? Policy { get; init; }

    /// <summary>
    /// Keras' <c>auto_scale_loss</c>: dynamic loss scaling for <c>mixed_float16</c>, none otherwise. Default true.
    /// When false, the loss is not scaled unless <see cref="LossScale"/> says so.
    /// </summary>
    public bool AutoScaleLoss { get; init; } = true;

    /// <summary>Explicit loss scaling, overriding <see cref="AutoScaleLoss"/>.</summary>
    public LossScaleOptions? LossScale { get; init; }

    /// <summary>Per-module policy overrides by module path.</summary>
    public IReadOnlyDictionary<string, DTypePolicy> ModuleOverrides { get; init; } = new Dictionary<string, DTypePolicy>();

    /// <summary>
    /// Learning-rate multipliers by module path (parameter groups), e.g. <c>{ ["base"] = 0.1 }</c> to fine-tune a pretrained
    /// base ten times slower than the head. A parameter takes the scale of the longest matching prefix.
    /// </summary>
    public IReadOnlyDictionary<string, double> LearningRateScales { get; init; } = new Dictionary<string, double>();

    /// <summary>Which kernels run the step. Default auto (fused where available).</summary>
    public AmpKernelPreference Kernels { get; init; } = AmpKernelPreference.Auto;

    /// <summary>
    /// Keep the model's 4-D weights and feed its 4-D inputs in channels-last (NHWC) memory order, which oneDNN (CPU)
    /// and cuDNN (Tensor Cores) convolutions often run faster on; shapes stay NCHW. Set on the first <c>Compile</c>
    /// of a trainer. Default false: no gain on the CPUs measured (BENCHMARKS.md); meant for CUDA Tensor Cores. Checkpoints and exports are written
    /// in the standard order either way.
    /// </summary>
    public bool ChannelsLast { get; init; }

    /// <summary>Creates the loss these options name.</summary>
    public Loss CreateLoss() => MixFit.Losses.Loss.FromName(Loss, FromLogits, LabelSmoothing);

    /// <summary>The loss scaling these options resolve to for <paramref name="policy"/>.</summary>
    public LossScaleOptions ResolveLossScale(DTypePolicy policy) =>
        LossScale ?? (AutoScaleLoss ? LossScaleOptions.DefaultFor(policy) : LossScaleOptions.None);

    /// <summary>The precision strategy's options these options resolve to under <paramref name="policy"/>.</summary>
    public PrecisionOptions CreatePrecisionOptions(DTypePolicy policy) => new()
    {
        LossScale = ResolveLossScale(policy),
        ModuleOverrides = ModuleOverrides,
        Kernels = Kernels,
    };

    /// <summary>
    /// Creates the optimizer over a precision strategy's parameter groups: <see cref="OptimizerFactory"/> when set
    /// (each group's learning-rate scale is then applied to what it returns), else <see cref="Optimizer"/>, fused or
    /// managed as <see cref="Kernels"/> says unless <see cref="OptimizerConfig.Fused"/> is set.
    /// </summary>
    public MixFit.Optimizers.Optimizer CreateOptimizer(IReadOnlyList<ParameterGroup> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (OptimizerFactory is null)
        {
            return (Optimizer with { Fused = KernelChoice.ToFused(Kernels, Optimizer.Fused) }).Create(groups);
        }

        var optimizer = OptimizerFactory(groups.SelectMany(g => g.Parameters).ToArray());
        ParameterGroup.ApplyScales(optimizer, groups);
        return optimizer;
    }
}
