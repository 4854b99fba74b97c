using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>
/// Converts any TorchSharp module tree to a policy: matrix/convolution layers to the compute dtype, normalisation
/// layers kept in float32 under mixed policies, per-module overrides, and input casts where dtypes meet.
/// </summary>
/// <remarks>
/// Works on modules it does not know (TorchVision models, user modules) because it only uses <c>Module.to(dtype)</c>,
/// parameter names and forward pre-hooks. Pre-hooks fire only when a module is invoked through <c>call()</c>
/// (as <c>Sequential</c> and TorchVision do); a custom module that invokes a child's <c>forward()</c> directly
/// must feed it inputs of the right dtype itself.
/// </remarks>
internal static class PolicyApplier
{
    private static readonly HashSet<string> NormalizationTypes = new(StringComparer.Ordinal)
    {
        "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm",
    };

    // The normalisations whose CUDA kernels want the weight in the input's dtype (see InstallNormCasts).
    private static readonly HashSet<string> NormsComputedInFloat32 = new(StringComparer.Ordinal) { "LayerNorm", "GroupNorm", "RMSNorm" };

    /// <summary>Whether a module is a normalisation layer whose parameters and statistics stay float32 under a mixed policy.</summary>
    public static bool IsNormalization(nn.Module module) => NormalizationTypes.Contains(module.GetType().Name);

    public static AppliedPolicy Apply(nn.Module root, DTypePolicy policy, IReadOnlyDictionary<string, DTypePolicy> overrides, DeviceType device = DeviceType.CPU)
    {
        var modules = new List<(string Name, nn.Module Module)> { ("", root) };
        modules.AddRange(root.named_modules().Where(m => m.name.Length > 0));
        var byName = modules.ToDictionary(m => m.Name, m => m.Module);
        foreach (var key in overrides.Keys.Where(k => !byName.ContainsKey(k)))
        {
            var known = modules.Select(m => m.Name).Where(n => n.Length > 0).Take(12);
            throw new ArgumentException(
                $"Policy override names module \"{key}\", which the model does not have. Module paths look like: {string.Join(", ", known)}.",
                nameof(overrides));
        }

        var policies = new Dictionary<string, DTypePolicy>(StringComparer.Ordinal);
        var targets = new Dictionary<string, ScalarType>(StringComparer.Ordinal);
        foreach (var (name, module) in modules)
        {
            var inherited = name.Length == 0 ? policy : policies[Parent(name)];
            var own = overrides.TryGetValue(name, out var o) ? o : inherited;
            policies[name] = own;
            targets[name] = IsNormalization(module) && own.IsMixed ? own.VariableDType : own.ComputeDType;
        }

        var snapshot = Snapshot(root);
        using (no_grad())
        {
            foreach (var (name, module) in modules)
            {
                var current = name.Length == 0 ? FirstFloatingDType(root) : targets[Parent(name)];
                if (current != targets[name])
                {
                    module.to(targets[name]);
                }
            }
        }

        var originals = RestoreExactValues(root, snapshot);
        var hooks = InstallInputCasts(modules, policies, overrides);
        hooks.AddRange(InstallNormCasts(modules, policies, device));
        return new AppliedPolicy(policies, originals, hooks);
    }

    /// <summary>
    /// Normalization layers keep float32 parameters under a mixed policy and take half-precision inputs. libtorch's
    /// CPU kernels and cuDNN's batch norm accept that mix; its CUDA LayerNorm and GroupNorm kernels read the weight in
    /// the input's dtype, so off the CPU those layers compute in float32 (input cast up, output cast back to the
    /// compute dtype), as autocast runs them.
    /// </summary>
    private static List<Action> InstallNormCasts(List<(string Name, nn.Module Module)> modules, Dictionary<string, DTypePolicy> policies, DeviceType device)
    {
        var hooks = new List<Action>();
        if (device == DeviceType.CPU)
        {
            return hooks;
        }

        foreach (var (name, module) in modules)
        {
            var own = policies[name];
            if (!own.IsMixed || module is not nn.Module<Tensor, Tensor> norm || !NormsComputedInFloat32.Contains(module.GetType().Name))
            {
                continue;
            }

            var up = norm.register_forward_pre_hook((_, input) =>
                input.is_floating_point() && input.dtype != own.VariableDType ? input.to(own.VariableDType) : input);
            var down = norm.register_forward_hook((_, _, output) =>
                output.is_floating_point() && output.dtype != own.ComputeDType ? output.to(own.ComputeDType) : output);
            hooks.Add(up.remove);
            hooks.Add(down.remove);
        }

        return hooks;
    }

    private static string Parent(string name)
    {
        int dot = name.LastIndexOf('.');
        return dot < 0 ? "" : name[..dot];
    }

    private static ScalarType? FirstFloatingDType(nn.Module root) =>
        root.parameters().Select(p => p.dtype).Where(IsFloating).Cast<ScalarType?>().FirstOrDefault();

    private static bool IsFloating(ScalarType t) =>
        t is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;

    /// <summary>Float copies of every floating parameter and buffer, taken before conversion, outside any dispose scope.</summary>
    private static Dictionary<string, Tensor> Snapshot(nn.Module root)
    {
        var snapshot = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var _ = no_grad();
        foreach (var (name, p) in root.named_parameters())
        {
            if (IsFloating(p.dtype))
            {
                snapshot["p:" + name] = p.detach().clone().DetachFromDisposeScope();
            }
        }

        foreach (var (name, b) in root.named_buffers())
        {
            if (IsFloating(b.dtype))
            {
                snapshot["b:" + name] = b.detach().clone().DetachFromDisposeScope();
            }
        }

        return snapshot;
    }

    /// <summary>
    /// Copies the exact original values into every tensor that ended in its original dtype (undoing the rounding of a
    /// round trip through half precision) and returns the originals of the parameters whose dtype changed.
    /// </summary>
    private static Dictionary<string, Tensor> RestoreExactValues(nn.Module root, Dictionary<string, Tensor> snapshot)
    {
        var changed = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var _ = no_grad();
        foreach (var (name, p) in root.named_parameters())
        {
            if (!snapshot.Remove("p:" + name, out var original))
            {
                continue;
            }

            if (original.dtype == p.dtype)
            {
                p.copy_(original);
                original.Dispose();
            }
            else
            {
                changed[name] = original;
            }
        }

        foreach (var (name, b) in root.named_buffers())
        {
            if (snapshot.Remove("b:" + name, out var original))
            {
                if (original.dtype == b.dtype)
                {
                    b.copy_(original);
                }

                original.Dispose();
            }
        }

        foreach (var leftover in snapshot.Values)
        {
            leftover.Dispose();
        }

        return changed;
    }

    /// <summary>
    /// With overrides, dtypes meet inside the model (a float32 head after a float16 body, or the reverse): every
    /// overridden module and every parameterised leaf then casts floating inputs to its own compute dtype, as Keras
    /// layers autocast their inputs. Without overrides the strategy's input conversion is enough.
    /// </summary>
    private static List<Action> InstallInputCasts(
        List<(string Name, nn.Module Module)> modules, Dictionary<string, DTypePolicy> policies, IReadOnlyDictionary<string, DTypePolicy> overrides)
    {
        var hooks = new List<Action>();
        if (overrides.Count == 0)
        {
            return hooks;
        }

        foreach (var (name, module) in modules)
        {
            bool overridden = overrides.ContainsKey(name);
            bool leafWithWeights = !module.children().Any() && module.parameters(recurse: false).Any();
            if (IsNormalization(module) || !(overridden || leafWithWeights))
            {
                continue;
            }

            if (module is not nn.Module<Tensor, Tensor> tensorModule)
            {
                if (overridden)
                {
                    throw new NotSupportedException(
                        $"Module \"{name}\" ({module.GetType().Name}) cannot take a policy override: only Module<Tensor, Tensor> layers get input casts.");
                }

                continue;
            }

            var dtype = policies[name].ComputeDType;
            var remover = tensorModule.register_forward_pre_hook((_, input) =>
                input.is_floating_point() && input.dtype != dtype ? input.to(dtype) : input);
            hooks.Add(remover.remove);
        }

        return hooks;
    }
}
