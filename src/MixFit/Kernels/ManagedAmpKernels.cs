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

    public override bool SynchronisationFree => false;

    public override void UnscaleAndCheck(IReadOnlyList<Tensor> grads, Tensor foundInf, Tensor invScale)
    {
        if (grads.Count == 0)
        {
            return;
        }

        using var scope = NewDisposeScope();
        using var _ = no_grad();

        // The sum of a tensor is non-finite when any element is inf or NaN: one sync for the whole list.
        var sums = stack(grads.Select(g => g.sum().to(ScalarType.Float32)).ToArray());
        if (!sums.isfinite().all().item<bool>())
        {
            foundInf.fill_(1.0);
        }

        foreach (var g in grads)
        {
            g.mul_(invScale.to(g.dtype));
        }
    }

    public override void UpdateScale(
        Tensor scale, Tensor growthTracker, Tensor foundInf, Tensor invScale, Tensor skipped, double growth, double backoff, long interval, double minScale)
    {
        using var _ = no_grad();
        float current = scale.item<float>();
        bool overflow = foundInf.item<float>() != 0;
        if (overflow)
        {
            current = (float)(current * backoff);
            growthTracker.fill_(0);
            skipped.add_(1);
        }
        else
        {
            int successful = growthTracker.item<int>() + 1;
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

    public override void AdamStep(
        IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor> expAvgs, IReadOnlyList<Tensor> expAvgSqs,
        IReadOnlyList<Tensor> maxExpAvgSqs, IReadOnlyList<Tensor> steps, AdamHyperParameters hp, Tensor foundInf)
    {
        if (parameters.Count == 0 || foundInf.item<float>() != 0)
        {
            return;
        }

        using var _ = no_grad();
        for (int i = 0; i < parameters.Count; i++)
        {
            using var scope = NewDisposeScope();
            var param = parameters[i];
            var grad = hp.Maximize ? grads[i].neg() : grads[i];
            steps[i].add_(1);
            double step = steps[i].item<float>();
            if (hp.DecoupledWeightDecay)
            {
                param.mul_(1 - (hp.LearningRate * hp.WeightDecay));
            }
            else if (hp.WeightDecay != 0)
            {
                grad = grad.add(param, alpha: hp.WeightDecay);
            }

            expAvgs[i].lerp_(grad, 1 - hp.Beta1);
            expAvgSqs[i].mul_(hp.Beta2).addcmul_(grad, grad, value: 1 - hp.Beta2);
            double biasCorrection1 = 1 - Math.Pow(hp.Beta1, step);
            double biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(hp.Beta2, step));
            Tensor second = expAvgSqs[i];
            if (hp.Amsgrad)
            {
                maxExpAvgSqs[i].copy_(maximum(maxExpAvgSqs[i], expAvgSqs[i]));
                second = maxExpAvgSqs[i];
            }

            var denom = (second.sqrt() / biasCorrection2Sqrt).add_(hp.Epsilon);
            param.addcdiv_(expAvgs[i], denom, value: -(hp.LearningRate / biasCorrection1));
        }
    }

    public override void RmspropStep(
        IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor> squareAvgs, IReadOnlyList<Tensor> gradAvgs,
        IReadOnlyList<Tensor> momentumBuffers, RmspropHyperParameters hp, Tensor foundInf)
    {
        if (parameters.Count == 0 || foundInf.item<float>() != 0)
        {
            return;
        }

        using var _ = no_grad();
        for (int i = 0; i < parameters.Count; i++)
        {
            using var scope = NewDisposeScope();
            var grad = hp.WeightDecay != 0 ? grads[i].add(parameters[i], alpha: hp.WeightDecay) : grads[i];
            squareAvgs[i].mul_(hp.Alpha).addcmul_(grad, grad, value: 1 - hp.Alpha);
            Tensor avg;
            if (hp.Centered)
            {
                gradAvgs[i].lerp_(grad, 1 - hp.Alpha);
                avg = squareAvgs[i].addcmul(gradAvgs[i], gradAvgs[i], value: -1).sqrt_().add_(hp.Epsilon);
            }
            else
            {
                avg = squareAvgs[i].sqrt().add_(hp.Epsilon);
            }

            if (hp.Momentum > 0)
            {
                momentumBuffers[i].mul_(hp.Momentum).addcdiv_(grad, avg);
                parameters[i].add_(momentumBuffers[i], alpha: -hp.LearningRate);
            }
            else
            {
                parameters[i].addcdiv_(grad, avg, value: -hp.LearningRate);
            }
        }
    }

    public override void SgdStep(
        IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor> momentumBuffers,
        SgdHyperParameters hp, bool isFirstStep, Tensor foundInf)
    {
        if (parameters.Count == 0 || foundInf.item<float>() != 0)
        {
            return;
        }

        using var _ = no_grad();
        for (int i = 0; i < parameters.Count; i++)
        {
            using var scope = NewDisposeScope();
            var grad = hp.Maximize ? grads[i].neg() : grads[i];
            if (hp.WeightDecay != 0)
            {
                grad = grad.add(parameters[i], alpha: hp.WeightDecay);
            }

            if (hp.Momentum != 0)
            {
                var buffer = momentumBuffers[i];
                if (isFirstStep)
                {
                    buffer.copy_(grad);
                }
                else
                {
                    buffer.mul_(hp.Momentum).add_(grad, alpha: 1 - hp.Dampening);
                }

                grad = hp.Nesterov ? grad.add(buffer, alpha: hp.Momentum) : buffer;
            }

            parameters[i].add_(grad, alpha: -hp.LearningRate);
        }
    }
}
