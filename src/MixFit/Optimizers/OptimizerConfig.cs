using TorchSharp.Modules;

namespace MixFit.Optimizers;

/// <summary>
/// An optimizer chosen by name, as in Keras' <c>compile(optimizer="adam")</c>: <c>adam</c>, <c>adamw</c>, <c>sgd</c>,
/// <c>rmsprop</c>, with every hyper-parameter of each. A null hyper-parameter takes the optimizer's own default
/// (<see cref="OptimizerDefaults"/>, PyTorch's); the learning rate defaults to 1e-3 for every name (Keras).
/// </summary>
public sealed record OptimizerConfig
{
    /// <summary>The valid names.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "adam", "adamw", "sgd", "rmsprop" };

    /// <summary>The optimizer's name. Default <c>adam</c>.</summary>
    public string Name { get; init; } = "adam";

    /// <summary>Learning rate. Default 1e-3.</summary>
    public double LearningRate { get; init; } = OptimizerDefaults.LearningRate;

    /// <summary>Weight decay (L2 for adam/sgd/rmsprop, decoupled for adamw); null: the optimizer's default (0; adamw 0.01).</summary>
    public double? WeightDecay { get; init; }

    /// <summary>Momentum for sgd and rmsprop. Default 0.</summary>
    public double Momentum { get; init; }

    /// <summary>Nesterov momentum for sgd.</summary>
    public bool Nesterov { get; init; }

    /// <summary>Dampening of sgd's momentum. Default 0.</summary>
    public double Dampening { get; init; }

    /// <summary>Adam/AdamW first-moment decay; null: 0.9.</summary>
    public double? Beta1 { get; init; }

    /// <summary>Adam/AdamW second-moment decay; null: 0.999.</summary>
    public double? Beta2 { get; init; }

    /// <summary>Adam/AdamW/RMSprop epsilon; null: 1e-8.</summary>
    public double? Epsilon { get; init; }

    /// <summary>Adam/AdamW AMSGrad variant.</summary>
    public bool Amsgrad { get; init; }

    /// <summary>RMSprop's decay of the squared-gradient average; null: 0.99.</summary>
    public double? Alpha { get; init; }

    /// <summary>RMSprop's centred variant.</summary>
    public bool Centered { get; init; }

    /// <summary>null: the fused implementation where available; true: require it; false: the managed one.</summary>
    public bool? Fused { get; init; }

    /// <summary>Creates the optimizer over <paramref name="parameters"/> (one group at the full learning rate).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public Optimizer Create(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return Create(parameters, Fused);
    }

    /// <summary>Creates the optimizer over parameter groups, each at its learning-rate scale.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public Optimizer Create(IReadOnlyList<ParameterGroup> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var optimizer = Create(groups.SelectMany(g => g.Parameters), Fused);
        ParameterGroup.ApplyScales(optimizer, groups);
        return optimizer;
    }

    private Optimizer Create(IEnumerable<Parameter> parameters, bool? fused) =>
        (Name ?? "").Trim().ToLowerInvariant() switch
        {
            "adam" => new Adam(
                parameters, LearningRate, Beta1 ?? OptimizerDefaults.Beta1, Beta2 ?? OptimizerDefaults.Beta2, Epsilon ?? OptimizerDefaults.AdamEpsilon,
                WeightDecay ?? 0, Amsgrad, fused: fused),
            "adamw" => new AdamW(
                parameters, LearningRate, Beta1 ?? OptimizerDefaults.Beta1, Beta2 ?? OptimizerDefaults.Beta2, Epsilon ?? OptimizerDefaults.AdamEpsilon,
                WeightDecay ?? OptimizerDefaults.AdamWWeightDecay, Amsgrad, fused: fused),
            "sgd" => new Sgd(parameters, LearningRate, Momentum, Dampening, WeightDecay ?? 0, Nesterov, fused: fused),
            "rmsprop" => new Rmsprop(
                parameters, LearningRate, Alpha ?? OptimizerDefaults.RmspropAlpha, Epsilon ?? OptimizerDefaults.RmspropEpsilon, WeightDecay ?? 0,
                Momentum, Centered, fused),
            _ => throw new ArgumentException($"Unknown optimizer \"{Name}\". Valid optimizers: {string.Join(", ", Names)}.", nameof(Name)),
        };
}
