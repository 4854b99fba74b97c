using MixFit.Losses;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>The mistakes <see cref="Trainer.Compile"/> warns about (Keras warns about the same ones).</summary>
internal static class CompileChecks
{
    /// <summary>
    /// A cross-entropy told to expect logits over a model that ends in a softmax (a <see cref="MixFit.Applications.TransferModel"/>
    /// built with <c>softmax: true</c>, or a module whose last child is a Softmax): the warning, or null.
    /// </summary>
    public static string? SoftmaxFromLogits(nn.Module<Tensor, Tensor> module, CompileOptions options, Loss loss)
    {
        bool endsInSoftmax = module switch
        {
            MixFit.Applications.TransferModel transfer => transfer.Softmax,
            _ => module.children().LastOrDefault() is TorchSharp.Modules.Softmax,
        };
        return endsInSoftmax && options.FromLogits && loss is CrossentropyLoss
            ? $"\"{loss.Name}\" was compiled with FromLogits = true, but the model's output comes from a softmax and so is not logits. "
                + "Was this intended? Compile with FromLogits = false, or build the model without its softmax (TransferModel.Create(..., softmax: false))."
            : null;
    }

    /// <summary>
    /// GroupNorm layers whose weight or bias hold values no initialisation gives (NaN, infinity, magnitudes below
    /// 1e-30 or above 1e10): TorchSharp 0.107's <c>nn.GroupNorm</c> creates both with <c>torch.empty</c> and never
    /// initialises them (PyTorch sets ones and zeros), so a fresh layer holds whatever memory it got. The warning, or null.
    /// One host read per GroupNorm, at compile time.
    /// </summary>
    public static string? UninitialisedGroupNorms(nn.Module module)
    {
        var suspects = new List<string>();
        using (no_grad())
        {
            foreach (var (name, child) in module.named_modules())
            {
                if (child is not TorchSharp.Modules.GroupNorm norm)
                {
                    continue;
                }

                foreach (var parameter in new[] { norm.weight, norm.bias })
                {
                    if (parameter is null)
                    {
                        continue;
                    }

                    using var scope = NewDisposeScope();
                    var values = parameter.detach().to(ScalarType.Float32);
                    var magnitude = values.abs();
                    var absurd = values.isfinite().logical_not().any().logical_or(magnitude.gt(1e10).any()).logical_or(magnitude.lt(1e-30).logical_and(values.ne(0)).any());
                    if (MixFit.Kernels.HostReads.Item<bool>(absurd))
                    {
                        suspects.Add(name.Length == 0 ? "(the model itself)" : name);
                        break;
                    }
                }
            }
        }

        return suspects.Count == 0 ? null
            : $"GroupNorm layer(s) {string.Join(", ", suspects.Select(n => $"\"{n}\""))} hold values no initialisation gives (NaN, infinity, or magnitudes below 1e-30 or above 1e10): "
                + "TorchSharp 0.107's GroupNorm creates its weight and bias with torch.empty and never initialises them. Set them as PyTorch does before training: "
                + "nn.init.ones_(layer.weight); nn.init.zeros_(layer.bias).";
    }
}
