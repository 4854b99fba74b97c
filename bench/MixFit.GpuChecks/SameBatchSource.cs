using MixFit.Data;
using static TorchSharp.torch;

namespace MixFit.GpuChecks;

/// <summary>
/// One batch already on the device, yielded <paramref name="steps"/> times per epoch: the benchmark's input, as the
/// PyTorch reference feeds one batch each step (no copies, no memory for more than one batch).
/// </summary>
internal sealed class SameBatchSource(Tensor x, Tensor y, int steps) : IBatchSource
{
    public int? BatchesPerEpoch => steps;

    public long? Count => steps * x.shape[0];

    public IEnumerable<Batch> GetBatches(int epoch) => Enumerable.Range(0, steps).Select(_ => new Batch(x, y));
}
