using MixFit.Precision;
using static TorchSharp.torch;

namespace MixFit.Applications;

/// <summary>A model built by <see cref="ModelDescriptor.Build(int, int, int, bool)"/>.</summary>
/// <param name="Module">The model (outputs logits).</param>
/// <param name="PrecisionOverrides">Per-module policies to compile it with (its output layer in float32).</param>
/// <param name="Transfer">The same module as a <see cref="TransferModel"/> when it is a backbone with a head, else null.</param>
public sealed record BuiltModel(nn.Module<Tensor, Tensor> Module, IReadOnlyDictionary<string, DTypePolicy> PrecisionOverrides, TransferModel? Transfer);
