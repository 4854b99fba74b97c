using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Kernels;

/// <summary>
/// libtorch's native AMP and foreach kernels, reached through TorchScript because TorchSharp
/// 0.107 does not bind them. Every method is one native call over whole tensor lists and never reads a value
/// back to the host.
/// </summary>
internal sealed class TorchScriptAmpKernels : AmpKernels
{
    // Compiled once per process (see TorchScriptFunctions for why the source is fixed).
    private const string Source = @"
def unscale(grads: List[Tensor], found_inf: Tensor, inv_scale: Tensor):
    torch._amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale)

def update_scale(scale: Tensor, tracker: Tensor, found_inf: Tensor, inv_scale: Tensor, skipped: Tensor, growth: float, backoff: float, interval: int, min_scale: float):
    torch._amp_update_scale_(scale, tracker, found_inf, growth, backoff, interval)
    if min_scale > 0.0:
        scale.clamp_min_(min_scale)
    inv_scale.copy_(scale.double().reciprocal().float())
    skipped.add_((found_inf > 0.0).float())

def copy(dst: List[Tensor], src: List[Tensor]):
    torch._foreach_copy_(dst, src)

def add(dst: List[Tensor], src: List[Tensor]):
    torch._foreach_add_(dst, src)

def clip_norm(grads: List[Tensor], max_norm: float):
    norms = torch._foreach_norm(grads, 2.0)
    total = torch.stack(norms).pow(2).sum().sqrt()
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    torch._foreach_mul_(grads, coef)

def clip_value(grads: List[Tensor], value: float):
    torch._foreach_clamp_min_(grads, -value)
    torch._foreach_clamp_max_(grads, value)
";

    private static readonly TorchScriptFunctions Functions = new("AMP kernels", Source);

    /// <summary>Whether this libtorch compiles the kernels (compiles them on the first call).</summary>
    public static bool Available => Functions.Available;

    public override string Name => "fused";

    public override void UnscaleAndCheck(IReadOnlyList<Tensor> grads, Tensor foundInf, Tensor invScale)
    {
        if (grads.Count > 0)
        {
            Functions.Invoke("unscale", grads.ToArray(), foundInf, invScale);
        }
    }

    public override void UpdateScale(
        Tensor scale, Tensor growthTracker, Tensor foundInf, Tensor invScale, Tensor skipped, double growth, double backoff, long interval, double minScale) =>
        Functions.Invoke("update_scale", scale, growthTracker, foundInf, invScale, skipped, growth, backoff, interval, minScale);

    public override void Copy(IReadOnlyList<Tensor> destinations, IReadOnlyList<Tensor> sources)
    {
        if (destinations.Count > 0)
        {
            using var _ = no_grad();
            Functions.Invoke("copy", destinations.ToArray(), sources.ToArray());
        }
    }

    public override void Add(IReadOnlyList<Tensor> destinations, IReadOnlyList<Tensor> sources)
    {
        if (destinations.Count > 0)
        {
            using var _ = no_grad();
            Functions.Invoke("add", destinations.ToArray(), sources.ToArray());
        }
    }

    public override void ClipNorm(IReadOnlyList<Tensor> grads, double maxNorm)
    {
        if (grads.Count > 0)
        {
            using var _ = no_grad();
            Functions.Invoke("clip_norm", grads.ToArray(), maxNorm);
        }
    }

    public override void ClipValue(IReadOnlyList<Tensor> grads, double clipValue)
    {
        if (grads.Count > 0)
        {
            using var _ = no_grad();
            Functions.Invoke("clip_value", grads.ToArray(), clipValue);
        }
    }
}
