using MixFit.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MixFit.Precision;

/// <summary>
/// Mixed precision with float32 master weights: the model holds a half-precision working copy of its weights and
/// computes in it; optimizers update float32 masters, which are copied back into the model after every step.
/// </summary>
/// <remarks>
/// <para>Why a working copy rather than casting each weight on every call: it works for any TorchSharp module tree
/// (TorchVision models, user modules) without replacing their layers, casts each weight once per step instead of
/// once per forward, and the backward pass produces half-precision gradients directly.</para>
/// <para>Normalisation layers (BatchNorm, LayerNorm, GroupNorm, InstanceNorm) keep float32 parameters and running
/// statistics; libtorch computes their statistics in float32 from half-precision inputs and returns the input's
/// dtype. Their parameters are their own masters. Overridden float32 modules likewise.</para>
/// <para>Per iteration: <see cref="PrecisionStrategy.Backward(Tensor)"/> moves the half-precision gradients onto float32
/// master gradients (copy on the first micro-batch, add on later ones, so accumulation happens in float32); the
/// step unscales and checks the master gradients, steps or skips, and copies the masters into the model. With
/// fused kernels each of these is one native call for all parameters, with no device-to-host sync.</para>
/// </remarks>
public sealed class MixedPrecisionStrategy : PrecisionStrategy
{
    private readonly List<Parameter> workingParams = new();
    private readonly List<Parameter> masters = new();
    private readonly List<Tensor> masterGrads = new();
    private readonly Dictionary<string, Parameter> masterByName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Parameter> workingByName = new(StringComparer.Ordinal);
    private readonly List<Parameter> sharedParams = new();
    private bool gradsFresh = true;

    internal MixedPrecisionStrategy(DTypePolicy policy, PrecisionOptions? options)
        : base(policy, options)
    {
        if (!policy.IsMixed)
        {
            throw new ArgumentException($"{policy} is not a mixed policy.", nameof(policy));
        }
    }

    /// <summary>The float32 master copy of every parameter whose working copy is in half precision, by parameter name.</summary>
    public IReadOnlyDictionary<string, Parameter> MasterWeights
    {
        get
        {
            RequirePrepared();
            return masterByName;
        }
    }

    /// <inheritdoc />
    /// <remarks>The float32 master gradients stay attached to the masters (this strategy alone owns them); the next
    /// backward pass overwrites them.</remarks>
    public override void ZeroGrad()
    {
        RequirePrepared();
        gradsFresh = true;
        foreach (var p in workingParams)
        {
            p.grad = null;
        }

        foreach (var p in sharedParams)
        {
            p.grad = null;
        }
    }

    /// <inheritdoc />
    public override Dictionary<string, Tensor> StateDict()
    {
        var state = base.StateDict();
        foreach (var (name, master) in masterByName)
        {
            state[name] = master;
        }

        return state;
    }

    /// <inheritdoc />
    public override void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        RequirePrepared();
        var targets = Model!.state_dict();
        foreach (var (name, master) in masterByName)
        {
            targets[name] = master;
        }

        CopyState(targets, state);
        SyncWorkingCopy(masterByName.Keys.Select(n => workingByName[n]).ToArray(), masterByName.Values.ToArray());
    }

    /// <inheritdoc />
    /// <remarks>Every original becomes the float32 master of its parameter.</remarks>
    private protected override (IReadOnlyList<Parameter> Parameters, IReadOnlyList<string> Names) OnPrepared(
        nn.Module model, IReadOnlyDictionary<string, Tensor> originals)
    {
        foreach (var (name, working) in model.named_parameters())
        {
            if (originals.TryGetValue(name, out var original))
            {
                var master = new Parameter(original, working.requires_grad);
                master.DetachFromDisposeScope();
                masterByName[name] = master;
                workingByName[name] = working;
            }
        }

        return OnTrainableChanged(model);
    }

    /// <inheritdoc />
    private protected override (IReadOnlyList<Parameter> Parameters, IReadOnlyList<string> Names) OnTrainableChanged(nn.Module model)
    {
        workingParams.Clear();
        masters.Clear();
        foreach (var old in masterGrads)
        {
            old.Dispose();
        }

        masterGrads.Clear();
        sharedParams.Clear();
        var trainable = new List<Parameter>();
        var names = new List<string>();
        foreach (var (name, working) in model.named_parameters())
        {
            if (!working.requires_grad)
            {
                if (masterByName.TryGetValue(name, out var frozen))
                {
                    frozen.requires_grad = false;
                    frozen.grad = null;
                }

                continue;
            }

            names.Add(name);
            if (!masterByName.TryGetValue(name, out var master))
            {
                sharedParams.Add(working);
                trainable.Add(working);
                continue;
            }

            master.requires_grad = true;
            workingParams.Add(working);
            masters.Add(master);
            var grad = zeros_like(master).DetachFromDisposeScope();
            master.grad = grad;
            masterGrads.Add(grad);
            trainable.Add(master);
        }

        gradsFresh = true;
        return (trainable, names);
    }

    /// <inheritdoc />
    private protected override void AfterBackward()
    {
        using var scope = NewDisposeScope();
        var destinations = new List<Tensor>(workingParams.Count);
        var sources = new List<Tensor>(workingParams.Count);
        for (int i = 0; i < workingParams.Count; i++)
        {
            var grad = workingParams[i].grad;
            if (grad is not null)
            {
                destinations.Add(masterGrads[i]);
                sources.Add(grad);
            }
            else if (gradsFresh)
            {
                masterGrads[i].zero_();
            }
        }

        if (gradsFresh)
        {
            Kernels.Copy(destinations, sources);
        }
        else
        {
            Kernels.Add(destinations, sources);
        }

        foreach (var p in workingParams)
        {
            p.grad = null;
        }

        gradsFresh = false;
    }

    /// <inheritdoc />
    private protected override void AfterStep() => SyncWorkingCopy(workingParams, masters);

    /// <summary>Frees the float32 masters and their gradients (the model keeps its working copy).</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var grad in masterGrads)
            {
                grad.Dispose();
            }

            foreach (var master in masterByName.Values)
            {
                master.Dispose();
            }

            masterGrads.Clear();
            masterByName.Clear();
            masters.Clear();
        }

        base.Dispose(disposing);
    }

    private void SyncWorkingCopy(IReadOnlyList<Tensor> working, IReadOnlyList<Tensor> source) => Kernels.Copy(working, source);
}
