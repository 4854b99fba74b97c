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
}
