using MixFit.Optimizers;
using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>
/// The loss scalers a <see cref="PrecisionStrategy"/> gave single optimizers (<see cref="PrecisionStrategy.AddLossScaler"/>),
/// and the one rule that keeps them apart: the gradients between two steps are scaled by one scaler, and the step
/// that consumes them must use that same scaler (else it would unscale by the wrong factor).
/// </summary>
internal sealed class OptimizerScalers : IDisposable
{
    private readonly Dictionary<Optimizer, (string Name, LossScaler Scaler)> byOptimizer = new(ReferenceEqualityComparer.Instance);
    private LossScaler? scaledBy;

    /// <summary>Registers <paramref name="optimizer"/>'s own scaler, made by <paramref name="create"/>.</summary>
    /// <exception cref="ArgumentException">A bad or taken name, or an optimizer that already has a scaler.</exception>
    public void Add(string name, Optimizer optimizer, Func<LossScaler> create)
    {
        CheckName(name, "A loss scaler's");

        if (byOptimizer.Values.Any(e => e.Name == name))
        {
            throw new ArgumentException($"A loss scaler named \"{name}\" exists already; give each optimizer its own name.", nameof(name));
        }

        if (byOptimizer.TryGetValue(optimizer, out var existing))
        {
            throw new ArgumentException($"This optimizer has a loss scaler already (\"{existing.Name}\").", nameof(optimizer));
        }

        byOptimizer[optimizer] = (name, create());
    }

    /// <summary>
    /// The rule for the names that key an optimizer's logs and checkpoint entries (a loss scaler's, a trainer's further
    /// optimizer's): lower-case letters, digits and '_', starting with a letter.
    /// </summary>
    /// <exception cref="ArgumentException">The name breaks the rule; <paramref name="whose"/> says whose name it is.</exception>
    internal static void CheckName(string name, string whose)
    {
        if (string.IsNullOrEmpty(name) || !name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_') || !char.IsAsciiLetterLower(name[0]))
        {
            throw new ArgumentException($"{whose} name must be lower-case letters, digits and '_', starting with a letter (it names logs and checkpoint entries); got \"{name}\".", nameof(name));
        }
    }

    /// <summary>The scaler of <paramref name="optimizer"/>: its own, else <paramref name="shared"/> (the strategy's).</summary>
    public LossScaler ScalerFor(Optimizer? optimizer, LossScaler shared) =>
        optimizer is not null && byOptimizer.TryGetValue(optimizer, out var own) ? own.Scaler : shared;

    /// <summary>A backward pass is about to scale with <paramref name="optimizer"/>'s scaler; returns it.</summary>
    /// <exception cref="InvalidOperationException">The gradients since the last step were scaled by another scaler.</exception>
    public LossScaler Begin(Optimizer? optimizer, LossScaler shared)
    {
        var scaler = ScalerFor(optimizer, shared);
        if (scaledBy is not null && !ReferenceEquals(scaledBy, scaler))
        {
            throw new InvalidOperationException(
                $"The gradients since the last step were scaled by {Describe(scaledBy, shared)}, and this backward would add gradients scaled by {Describe(scaler, shared)}. "
                + "Step the optimizer of the first loss before the next backward (a GAN: the discriminator's Backward and Step, then the generator's).");
        }

        scaledBy = scaler;
        return scaler;
    }

    /// <summary>A step consumes the gradients for <paramref name="optimizers"/>; returns their (one) scaler.</summary>
    /// <exception cref="InvalidOperationException">The optimizers have different scalers, or the gradients were scaled by another.</exception>
    public LossScaler End(IReadOnlyList<Optimizer> optimizers, LossScaler shared)
    {
        var scalers = optimizers.Select(o => ScalerFor(o, shared)).Distinct(ReferenceEqualityComparer.Instance).Cast<LossScaler>().ToArray();
        if (scalers.Length > 1)
        {
            throw new InvalidOperationException(
                $"One Step was given optimizers with different loss scalers ({string.Join(", ", scalers.Select(s => Describe(s, shared)))}); step each with its own Backward and Step.");
        }

        var scaler = scalers.Length == 1 ? scalers[0] : shared;
        if (scaledBy is not null && !ReferenceEquals(scaledBy, scaler))
        {
            throw new InvalidOperationException(
                $"The gradients were scaled by {Describe(scaledBy, shared)}, but this step unscales with {Describe(scaler, shared)}. Pass the same optimizer to Backward(loss, optimizer) and Step(optimizer).");
        }

        scaledBy = null;
        return scaler;
    }

    /// <summary>The optimizers' own scalers with their names, in the order they were added.</summary>
    public IEnumerable<(string Name, LossScaler Scaler)> Own => byOptimizer.Values;

    /// <summary>Releases the optimizers' own scalers.</summary>
    public void Dispose()
    {
        foreach (var (_, scaler) in byOptimizer.Values)
        {
            scaler.Dispose();
        }

        byOptimizer.Clear();
    }

    private string Describe(LossScaler scaler, LossScaler shared) =>
        ReferenceEquals(scaler, shared) ? "the strategy's loss scaler" : $"the loss scaler \"{byOptimizer.Values.First(e => ReferenceEquals(e.Scaler, scaler)).Name}\"";
}
