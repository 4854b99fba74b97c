using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Kernels;

/// <summary>
/// The same operations as <see cref="TorchScriptAmpKernels"/> written with ordinary per-tensor TorchSharp calls,
/// following PyTorch's single-tensor reference implementations. Overflow decisions read the flag on the host.
/// </summary>
internal sealed class ManagedAmpKernels : AmpKernels
{
    public override string Name => "managed";

    public override void UnscaleAndCheck(IReadOnlyList<Tensor> grads, Tensor foundInf, Tensor invScale)
    {
        if (grads.Count == 0)
        {
            return;
        }

        using var scope = NewDisposeScope();
        using var _ = no_grad();

        // Element by element (a float16 sum of finite values can overflow), one read for the whole list.
        var finite = stack(grads.Select(g => g.isfinite().all()).ToArray());
        if (!HostReads.Item<bool>(finite.all()))
        {
            foundInf.fill_(1.0);
        }

        foreach (var g in grads)
        {
            // Multiply in float32: 1/scale above 2^24 is below float16's smallest subnormal and would zero the gradient.
            if (g.dtype == ScalarType.Float32)
            {
                g.mul_(invScale);
            }
            else
            {
                g.copy_(g.to(ScalarType.Float32).mul_(invScale.to(ScalarType.Float32)));
            }
        }
    }

    public override void UpdateScale(
        Tensor scale, Tensor growthTracker, Tensor foundInf, Tensor invScale, Tensor skipped, double growth, double backoff, long interval, double minScale)
    {
        using var _ = no_grad();
        float current = HostReads.Item<float>(scale);
        bool overflow = HostReads.Item<float>(foundInf) != 0;
        if (overflow)
        {
            current = (float)(current * backoff);
            growthTracker.fill_(0);
            skipped.add_(1);
        }
        else
        {
            int successful = HostReads.Item<int>(growthTracker) + 1;
            if (successful == interval)
            {
                float grown = (float)(current * growth);
                current = float.IsFinite(grown) ? grown : current;
                successful = 0;
            }

            growthTracker.fill_(successful);
        }

        if (minScale > 0)
        {
            current = Math.Max(current, (float)minScale);
        }

        scale.fill_(current);
        invScale.fill_((float)(1.0 / current));
    }

    public override void Copy(IReadOnlyList<Tensor> destinations, IReadOnlyList<Tensor> sources)
    {
        using var _ = no_grad();
        for (int i = 0; i < destinations.Count; i++)
        {
            destinations[i].copy_(sources[i]);
        }
    }

    public override void Add(IReadOnlyList<Tensor> destinations, IReadOnlyList<Tensor> sources)
    {
        using var _ = no_grad();
        for (int i = 0; i < destinations.Count; i++)
        {
            using var converted = sources[i].to(destinations[i].dtype);
            destinations[i].add_(converted);
        }
    }

    public override void ClipNorm(IReadOnlyList<Tensor> grads, double maxNorm)
    {
        if (grads.Count == 0)
        {
            return;
        }

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var total = stack(grads.Select(g => g.norm()).ToArray()).pow(2).sum().sqrt();
        var coef = (maxNorm / (total + 1e-6)).clamp_max(1.0);
        foreach (var g in grads)
        {
            g.mul_(coef.to(g.dtype));
        }
    }

    public override void ClipValue(IReadOnlyList<Tensor> grads, double clipValue)
    {
        using var _ = no_grad();
        foreach (var g in grads)
        {
            g.clamp_(-clipValue, clipValue);
        }
    }
}
