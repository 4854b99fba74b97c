using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Kernels;

/// <summary>
/// libtorch's native AMP, foreach and fused-optimizer kernels, reached through TorchScript because TorchSharp
/// 0.107 does not bind them. Every method is one native call over whole tensor lists and never reads a value
/// back to the host.
/// </summary>
internal sealed class TorchScriptAmpKernels : AmpKernels
{
    // Compiled once per process. A TorchScript *compile* error aborts the process (libtorch terminates), so this
    // source is fixed and covered by tests; it only uses operators present in libtorch 2.x.
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

def adam(params: List[Tensor], grads: List[Tensor], m: List[Tensor], v: List[Tensor], vmax: List[Tensor], steps: List[Tensor], lr: float, b1: float, b2: float, eps: float, wd: float, amsgrad: bool, maximize: bool, decoupled: bool, found_inf: Tensor):
    # The fused kernels read but do not advance the step counters: advance them here and take the increment
    # back where the step was skipped, all on the device.
    torch._foreach_add_(steps, 1.0)
    if decoupled:
        torch._fused_adamw_(params, grads, m, v, vmax, steps, lr=lr, beta1=b1, beta2=b2, weight_decay=wd, eps=eps, amsgrad=amsgrad, maximize=maximize, grad_scale=None, found_inf=found_inf)
    else:
        torch._fused_adam_(params, grads, m, v, vmax, steps, lr=lr, beta1=b1, beta2=b2, weight_decay=wd, eps=eps, amsgrad=amsgrad, maximize=maximize, grad_scale=None, found_inf=found_inf)
    torch._foreach_sub_(steps, [found_inf for _ in steps])

def rmsprop(params: List[Tensor], grads: List[Tensor], square_avgs: List[Tensor], grad_avgs: List[Tensor], bufs: List[Tensor], lr: float, alpha: float, eps: float, wd: float, momentum: float, centered: bool, found_inf: Tensor):
    # Every state update is selected with torch.where, so a flagged step changes nothing and nothing syncs.
    keep = found_inf > 0.0
    for i in range(len(params)):
        p = params[i]
        g = grads[i]
        if wd != 0.0:
            g = g + wd * p
        sq = square_avgs[i] * alpha + (1.0 - alpha) * g * g
        if centered:
            ga = grad_avgs[i] * alpha + (1.0 - alpha) * g
            avg = (sq - ga * ga).sqrt() + eps
            grad_avgs[i].copy_(torch.where(keep, grad_avgs[i], ga))
        else:
            avg = sq.sqrt() + eps
        square_avgs[i].copy_(torch.where(keep, square_avgs[i], sq))
        upd = g / avg
        if momentum > 0.0:
            upd = bufs[i] * momentum + upd
            bufs[i].copy_(torch.where(keep, bufs[i], upd))
        p.copy_(torch.where(keep, p, p - lr * upd))

def sgd(params: List[Tensor], grads: List[Tensor], bufs: List[Tensor], wd: float, momentum: float, lr: float, dampening: float, nesterov: bool, maximize: bool, first: bool, found_inf: Tensor):
    torch._fused_sgd_(params, grads, bufs, weight_decay=wd, momentum=momentum, lr=lr, dampening=dampening, nesterov=nesterov, maximize=maximize, is_first_step=first, grad_scale=None, found_inf=found_inf)
";

    private readonly jit.CompilationUnit unit;

    public TorchScriptAmpKernels() => unit = jit.compile(Source);

    public override string Name => "fused";

    public override bool SynchronisationFree => true;

    public override void UnscaleAndCheck(IReadOnlyList<Tensor> grads, Tensor foundInf, Tensor invScale)
    {
        if (grads.Count > 0)
        {
            unit.invoke("unscale", grads.ToArray(), foundInf, invScale);
        }
    }

    public override void UpdateScale(
        Tensor scale, Tensor growthTracker, Tensor foundInf, Tensor invScale, Tensor skipped, double growth, double backoff, long interval, double minScale) =>
        unit.invoke("update_scale", scale, growthTracker, foundInf, invScale, skipped, growth, backoff, interval, minScale);

    public override void Copy(IReadOnlyList<Tensor> destinations, IReadOnlyList<Tensor> sources)
    {
        if (destinations.Count > 0)
        {
            using var _ = no_grad();
            unit.invoke("copy", destinations.ToArray(), sources.ToArray());
        }
    }

    public override void Add(IReadOnlyList<Tensor> destinations, IReadOnlyList<Tensor> sources)
    {
        if (destinations.Count > 0)
        {
            using var _ = no_grad();
            unit.invoke("add", destinations.ToArray(), sources.ToArray());
        }
    }

    public override void ClipNorm(IReadOnlyList<Tensor> grads, double maxNorm)
    {
        if (grads.Count > 0)
        {
            using var _ = no_grad();
            unit.invoke("clip_norm", grads.ToArray(), maxNorm);
        }
    }

    public override void ClipValue(IReadOnlyList<Tensor> grads, double clipValue)
    {
        if (grads.Count > 0)
        {
            using var _ = no_grad();
            unit.invoke("clip_value", grads.ToArray(), clipValue);
        }
    }

    public override void AdamStep(
        IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor> expAvgs, IReadOnlyList<Tensor> expAvgSqs,
        IReadOnlyList<Tensor> maxExpAvgSqs, IReadOnlyList<Tensor> steps, AdamHyperParameters hp, Tensor foundInf)
    {
        if (parameters.Count == 0)
        {
            return;
        }

        using var _ = no_grad();
        unit.invoke(
            "adam", parameters.ToArray(), grads.ToArray(), expAvgs.ToArray(), expAvgSqs.ToArray(), maxExpAvgSqs.ToArray(), steps.ToArray(),
            hp.LearningRate, hp.Beta1, hp.Beta2, hp.Epsilon, hp.WeightDecay, hp.Amsgrad, hp.Maximize, hp.DecoupledWeightDecay, foundInf);
    }

    public override void RmspropStep(
        IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor> squareAvgs, IReadOnlyList<Tensor> gradAvgs,
        IReadOnlyList<Tensor> momentumBuffers, RmspropHyperParameters hp, Tensor foundInf)
    {
        if (parameters.Count == 0)
        {
            return;
        }

        using var _ = no_grad();
        unit.invoke(
            "rmsprop", parameters.ToArray(), grads.ToArray(), squareAvgs.ToArray(), gradAvgs.ToArray(), momentumBuffers.ToArray(),
            hp.LearningRate, hp.Alpha, hp.Epsilon, hp.WeightDecay, hp.Momentum, hp.Centered, foundInf);
    }

    public override void SgdStep(
        IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor> momentumBuffers,
        SgdHyperParameters hp, bool isFirstStep, Tensor foundInf)
    {
        if (parameters.Count == 0)
        {
            return;
        }

        using var _ = no_grad();
        unit.invoke(
            "sgd", parameters.ToArray(), grads.ToArray(), momentumBuffers.ToArray(), hp.WeightDecay, hp.Momentum, hp.LearningRate,
            hp.Dampening, hp.Nesterov, hp.Maximize, isFirstStep, foundInf);
    }
}
