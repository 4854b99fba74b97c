using System.Text.Json.Serialization;
using TorchSharp;

namespace MixFit.Precision;

/// <summary>
/// A precision policy: the dtype layers compute in and the dtype their variables (weights) are stored in.
/// </summary>
/// <remarks>
/// <para>Keras semantics. <c>mixed_float16</c> and <c>mixed_bfloat16</c> compute in half precision while the
/// optimizer updates float32 master weights: an update of 2^-14 to a weight of 1.0 survives in float32 but rounds
/// away in float16. <c>float16</c> and <c>bfloat16</c> store everything in half precision (fast, fragile).</para>
/// <para>Policies are immutable values: two policies with the same name are equal. JSON form: the name string.</para>
/// </remarks>
/// <example><code>
/// var policy = DTypePolicy.Parse("mixed_float16");   // compute float16, variables float32
/// using (DTypePolicy.Use(policy)) { /* strategies created here default to mixed_float16 */ }
/// </code></example>
[JsonConverter(typeof(DTypePolicyJsonConverter))]
public sealed class DTypePolicy : IEquatable<DTypePolicy>
{
    private static readonly object GlobalGate = new();
    private static DTypePolicy global = null!;

    private DTypePolicy(string name, torch.ScalarType compute, torch.ScalarType variable)
    {
        Name = name;
        ComputeDType = compute;
        VariableDType = variable;
    }

    /// <summary>float32 compute and variables: the default.</summary>
    public static DTypePolicy Float32 { get; } = new("float32", torch.ScalarType.Float32, torch.ScalarType.Float32);

    /// <summary>float64 compute and variables.</summary>
    public static DTypePolicy Float64 { get; } = new("float64", torch.ScalarType.Float64, torch.ScalarType.Float64);

    /// <summary>Pure float16: compute and variables in float16, no master weights (fast, fragile).</summary>
    public static DTypePolicy Float16 { get; } = new("float16", torch.ScalarType.Float16, torch.ScalarType.Float16);

    /// <summary>Pure bfloat16: compute and variables in bfloat16, no master weights.</summary>
    public static DTypePolicy BFloat16 { get; } = new("bfloat16", torch.ScalarType.BFloat16, torch.ScalarType.BFloat16);

    /// <summary>Compute in float16, float32 master weights; dynamic loss scaling by default.</summary>
    public static DTypePolicy MixedFloat16 { get; } = new("mixed_float16", torch.ScalarType.Float16, torch.ScalarType.Float32);

    /// <summary>Compute in bfloat16, float32 master weights; no loss scaling by default (float32's exponent range).</summary>
    public static DTypePolicy MixedBFloat16 { get; } = new("mixed_bfloat16", torch.ScalarType.BFloat16, torch.ScalarType.Float32);

    /// <summary>Every policy, in the order they are listed to users.</summary>
    public static IReadOnlyList<DTypePolicy> All { get; } = new[] { Float32, Float64, Float16, BFloat16, MixedFloat16, MixedBFloat16 };

    /// <summary>The valid policy names.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(p => p.Name).ToArray();

    /// <summary>The policy's name, e.g. <c>mixed_float16</c>.</summary>
    public string Name { get; }

    /// <summary>The dtype that matrix products and convolutions compute in.</summary>
    public torch.ScalarType ComputeDType { get; }

    /// <summary>The dtype weights are stored and updated in (the master weights under a mixed policy).</summary>
    public torch.ScalarType VariableDType { get; }

    /// <summary>Whether compute and variable dtypes differ (float32 master weights behind a half-precision model).</summary>
    public bool IsMixed => ComputeDType != VariableDType;

    /// <summary>
    /// The process-wide default policy (float32 until changed). Strategies created without an explicit policy use it.
    /// </summary>
    public static DTypePolicy Global
    {
        get
        {
            lock (GlobalGate)
            {
                return global ?? Float32;
            }
        }
    }

    /// <summary>Sets the process-wide default policy; prefer <see cref="Use(DTypePolicy)"/> to restore it afterwards.</summary>
    public static void SetGlobal(DTypePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        lock (GlobalGate)
        {
            global = policy;
        }
    }

    /// <summary>Sets the global policy until the returned scope is disposed, then restores the previous one.</summary>
    public static PolicyScope Use(DTypePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var previous = Global;
        SetGlobal(policy);
        return new PolicyScope(previous);
    }

    /// <summary>Sets the global policy by name until the returned scope is disposed.</summary>
    /// <exception cref="ArgumentException">The name is not a policy; the message lists the valid names.</exception>
    public static PolicyScope Use(string name) => Use(Parse(name));

    /// <summary>Parses a policy name (case-insensitive, surrounding spaces ignored).</summary>
    /// <exception cref="ArgumentException">The name is not a policy; the message lists the valid names and echoes the input.</exception>
    public static DTypePolicy Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return TryParse(name, out var policy)
            ? policy
            : throw new ArgumentException(
                $"Unknown dtype policy \"{name}\". Valid policies: {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>Parses a policy name; false when it names no policy.</summary>
    public static bool TryParse(string? name, out DTypePolicy policy)
    {
        string key = (name ?? "").Trim();
        policy = All.FirstOrDefault(p => string.Equals(p.Name, key, StringComparison.OrdinalIgnoreCase))!;
        return policy is not null;
    }

    /// <inheritdoc />
    public bool Equals(DTypePolicy? other) => other is not null && Name == other.Name;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as DTypePolicy);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name);

    /// <summary>Keras-style: <c>&lt;DTypePolicy "mixed_float16" compute=Float16 variables=Float32&gt;</c>.</summary>
    public override string ToString() => $"<DTypePolicy \"{Name}\" compute={ComputeDType} variables={VariableDType}>";

    /// <summary>Value equality.</summary>
    public static bool operator ==(DTypePolicy? left, DTypePolicy? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(DTypePolicy? left, DTypePolicy? right) => !(left == right);
}
