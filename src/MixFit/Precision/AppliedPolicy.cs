using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>What <see cref="PolicyApplier"/> did to a module tree.</summary>
internal sealed class AppliedPolicy
{
    private Dictionary<string, Tensor>? originals;

    public AppliedPolicy(Dictionary<string, DTypePolicy> modulePolicies, Dictionary<string, Tensor> originals, List<Action> hookRemovers)
    {
        ModulePolicies = modulePolicies;
        this.originals = originals;
        HookRemovers = hookRemovers;
    }

    /// <summary>The policy resolved for every module path ("" is the root).</summary>
    public Dictionary<string, DTypePolicy> ModulePolicies { get; }

    /// <summary>Removers of the input-cast hooks installed on modules.</summary>
    public List<Action> HookRemovers { get; }

    /// <summary>
    /// Hands over the exact pre-conversion values of the parameters whose dtype changed, by parameter name. The caller
    /// owns (and must dispose or keep) every tensor; a second call is an error.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> TakeOriginals()
    {
        var taken = originals ?? throw new InvalidOperationException("The original parameter values were already taken.");
        originals = null;
        return taken;
    }
}
