using MixFit.Kernels;
using TorchSharp.Modules;

namespace MixFit.Optimizers;

/// <summary>
/// An optimizer chosen by name, as in Keras' <c>compile(optimizer="adam")</c>: <c>adam</c>, <c>adamw</c>, <c>sgd</c>,
/// <c>rmsprop</c>. Defaults: learning rate 1e-3 (Keras), weight decay 0 (AdamW: 0.01), SGD momentum 0.
/// </summary>
public sealed record OptimizerConfig
{
    /// <summary>The valid names.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "adam", "adamw", "sgd", "rmsprop" };

    /// <summary>The optimizer's name. Default <c>adam</c>.</summary>
    public string Name { get; init; } = "adam";

    /// <summary>Learning rate. Default 1e-3.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Weight decay (L2 for adam/sgd/rmsprop, decoupled for adamw); null: the optimizer's default.</summary>
    public double? WeightDecay { get; init; }

    /// <summary>Momentum for sgd and rmsprop. Default 0.</summary>
    public double Momentum { get; init; }

    /// <summary>Nesterov momentum for sgd.</summary>
    public bool Nesterov { get; init; }

    /// <summary>Creates the optimizer over <paramref name="parameters"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public Optimizer Create(IEnumerable<Parameter> parameters, AmpKernels? kernels = null) =>
        (Name ?? "").Trim().ToLowerInvariant() switch
        {
            "adam" => new FusedAdam(parameters, LearningRate, weightDecay: WeightDecay ?? 0, kernels: kernels),
            "adamw" => new FusedAdamW(parameters, LearningRate, weightDecay: WeightDecay ?? 0.01, kernels: kernels),
            "sgd" => new FusedSgd(parameters, LearningRate, Momentum, weightDecay: WeightDecay ?? 0, nesterov: Nesterov, kernels: kernels),
            "rmsprop" => new FusedRmsprop(parameters, LearningRate, weightDecay: WeightDecay ?? 0, momentum: Momentum, kernels: kernels),
            _ => throw new ArgumentException($"Unknown optimizer \"{Name}\". Valid optimizers: {string.Join(", ", Names)}.", nameof(Name)),
        };
}
