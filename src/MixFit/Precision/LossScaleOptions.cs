using System.Globalization;

namespace MixFit.Precision;

/// <summary>
/// Configuration of loss scaling. Defaults are Keras': dynamic, initial scale 32768 (2^15, representable in float16),
/// doubled after 2000 consecutive finite steps, halved on any overflow, no minimum.
/// </summary>
/// <remarks>
/// <para><see cref="MinScale"/>: Keras 3 and PyTorch have none; tf.keras 2.x floors at 1. A floor keeps a run that
/// overflows every step from driving the scale to zero (and gradients with it), at the cost of skipping steps
/// forever in that case instead; leave it unset unless you see the scale collapse.</para>
/// <para>Use <see cref="DefaultFor"/> for the policy's default: dynamic for <c>mixed_float16</c>, none otherwise.</para>
/// </remarks>
public sealed record LossScaleOptions
{
    /// <summary>No loss scaling.</summary>
    public static LossScaleOptions None { get; } = new() { Mode = LossScaleMode.None, InitialScale = 1 };

    /// <summary>Dynamic, fixed or none. Default dynamic.</summary>
    public LossScaleMode Mode { get; init; } = LossScaleMode.Dynamic;

    /// <summary>The first scale (dynamic) or the constant scale (fixed). Default 32768.</summary>
    public double InitialScale { get; init; } = 32768;

    /// <summary>Multiplier applied after <see cref="GrowthInterval"/> finite steps; must be &gt; 1. Default 2.</summary>
    public double GrowthFactor { get; init; } = 2;

    /// <summary>Multiplier applied on overflow; must be in (0, 1). Default 0.5.</summary>
    public double BackoffFactor { get; init; } = 0.5;

    /// <summary>Consecutive finite steps before the scale grows; must be &gt;= 1. Default 2000.</summary>
    public int GrowthInterval { get; init; } = 2000;

    /// <summary>Optional floor for the dynamic scale. Default none.</summary>
    public double? MinScale { get; init; }

    /// <summary>Dynamic scaling with the given parameters.</summary>
    public static LossScaleOptions Dynamic(
        double initialScale = 32768, double growthFactor = 2, double backoffFactor = 0.5, int growthInterval = 2000, double? minScale = null) =>
        new LossScaleOptions
        {
            Mode = LossScaleMode.Dynamic, InitialScale = initialScale, GrowthFactor = growthFactor,
            BackoffFactor = backoffFactor, GrowthInterval = growthInterval, MinScale = minScale,
        }.Validated();

    /// <summary>A constant scale.</summary>
    public static LossScaleOptions Fixed(double scale) => new LossScaleOptions { Mode = LossScaleMode.Fixed, InitialScale = scale }.Validated();

    /// <summary>The default for a policy: dynamic for <c>mixed_float16</c>, none for everything else.</summary>
    public static LossScaleOptions DefaultFor(DTypePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy == DTypePolicy.MixedFloat16 ? new LossScaleOptions() : None;
    }

    /// <summary>Parses <c>dynamic</c>, <c>none</c> or a positive number (a fixed scale), as the CLI's <c>--loss-scale</c>.</summary>
    /// <exception cref="FormatException">Anything else; the message echoes the input and lists the accepted forms.</exception>
    public static LossScaleOptions Parse(string text)
    {
        string value = (text ?? "").Trim();
        if (value.Equals("dynamic", StringComparison.OrdinalIgnoreCase))
        {
            return new LossScaleOptions();
        }

        if (value.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return None;
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double scale) && scale > 0 && double.IsFinite(scale))
        {
            return Fixed(scale);
        }

        throw new FormatException($"Invalid loss scale \"{text}\": expected \"dynamic\", \"none\" or a positive number (a fixed scale).");
    }

    /// <summary>Checks every parameter and returns this instance.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range; the message names it and its value.</exception>
    public LossScaleOptions Validated()
    {
        if (Mode == LossScaleMode.None)
        {
            return this;
        }

        if (!(InitialScale > 0) || !double.IsFinite(InitialScale) || InitialScale > float.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialScale), InitialScale,
                $"InitialScale must be a positive finite float32 (at most {float.MaxValue:G9}: the scale is kept in float32), got {InitialScale}.");
        }

        if (Mode == LossScaleMode.Dynamic)
        {
            if (!(GrowthFactor > 1) || !double.IsFinite(GrowthFactor))
            {
                throw new ArgumentOutOfRangeException(nameof(GrowthFactor), GrowthFactor, $"GrowthFactor must be greater than 1, got {GrowthFactor}.");
            }

            if (!(BackoffFactor > 0 && BackoffFactor < 1))
            {
                throw new ArgumentOutOfRangeException(nameof(BackoffFactor), BackoffFactor, $"BackoffFactor must be in (0, 1), got {BackoffFactor}.");
            }

            if (GrowthInterval < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(GrowthInterval), GrowthInterval, $"GrowthInterval must be at least 1, got {GrowthInterval}.");
            }

            if (MinScale is { } min && (!(min > 0) || min > InitialScale))
            {
                throw new ArgumentOutOfRangeException(nameof(MinScale), min, $"MinScale must be positive and at most InitialScale ({InitialScale}), got {min}.");
            }
        }

        return this;
    }
}
