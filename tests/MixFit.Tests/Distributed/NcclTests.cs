using MixFit.Distributed;
using MixFit.Tests.Support;
using static TorchSharp.torch;

namespace MixFit.Tests.Distributed;

/// <summary>The NCCL binding where no NCCL exists (here), and on CUDA where it does (Category=Cuda).</summary>
public class NcclTests
{
    [Fact]
    public void Without_nccl_the_error_says_where_it_looked_and_how_to_point_at_it()
    {
        if (File.Exists("/usr/lib/x86_64-linux-gnu/libnccl.so.2"))
        {
            using var system = Nccl.Load();    // a machine with a system NCCL: it is found
            Assert.Matches(@"^\d+\.\d+\.\d+$", system.Version);
            return;
        }

        var error = Assert.Throws<DllNotFoundException>(() => Nccl.Load());
        Assert.Contains("libnccl.so.2", error.Message);
        Assert.Contains("MIXFIT_NCCL_LIBRARY", error.Message);
    }

    [Fact]
    public void A_rank_keeps_the_cpu_and_an_indexed_gpu_it_was_given()
    {
        Assert.Same(CPU, DataParallel.DeviceFor(CPU));
        var second = new Device(TorchSharp.DeviceType.CUDA, 1);
        Assert.Same(second, DataParallel.DeviceFor(second));
    }

    [Trait("Category", "Cuda")]
    [CudaFact]
    public void A_one_rank_communicator_sums_in_place_on_the_gpu()
    {
        using var nccl = Nccl.Load();
        nccl.Join(nccl.NewUniqueId(), ranks: 1, rank: 0, device: 0);
        using var values = arange(10, ScalarType.Float32, CUDA);
        nccl.SumInPlace(values);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i), values.cpu().data<float>().ToArray());
    }
}
