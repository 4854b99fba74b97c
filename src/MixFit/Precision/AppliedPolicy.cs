using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>What <see cref="PolicyApplier"/> did to a module tree.</summary>
internal sealed class AppliedPolicy : IDisposable
{
    public AppliedPolicy(Dictionary<string, DTypePolicy> modulePolicies, Dictionary<string, Tensor> originals, List<Action> hookRemovers)
    {
        ModulePolicies = modulePolicies;
        Originals = originals;
        HookRemovers = hookRemovers;
    }

    /// <summary>The policy resolved for every module path ("" is the root).</summary>
    public Dictionary<string, DTypePolicy> ModulePolicies { get; }

    /// <summary>Exact pre-conversion values of the parameters whose dtype changed, by parameter name.</summary>
    public Dictionary<string, Tensor> Originals { get; }

    /// <summary>Removers of the input-cast hooks installed on modules.</summary>
    public List<Action> HookRemovers { get; }

    /// <summary>Releases the originals that nobody took (a caller removes the ones it keeps).</summary>
    public void Dispose()
    {
        foreach (var t in Originals.Values)
        {
            t.Dispose();
        }

        Originals.Clear();
    }
}
