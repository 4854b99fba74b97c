using MixFit.Data;
using static TorchSharp.torch;

namespace MixFit.Tests.Data;

public class DeviceCopyTests
{
    [Fact]
    public void A_tensor_already_on_the_device_is_returned_as_is_without_a_copy()
    {
        using var x = ones(4, 3);
        Assert.Same(x, DeviceCopy.To(x, CPU));
        Assert.Same(x, DeviceCopy.To(x, CPU, ScalarType.Float32));
    }

    [Fact]
    public void A_dtype_is_applied_on_the_device_and_keeps_the_values()
    {
        using var x = tensor(new[] { 1.5f, -2.25f, 3f });
        using var y = DeviceCopy.To(x, CPU, ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.Equal(new[] { 1.5f, -2.25f, 3f }, y.to(ScalarType.Float32).data<float>().ToArray());
    }
}
