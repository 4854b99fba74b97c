using MixFit.Callbacks;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Training;

/// <summary>A batch hook's logs: their names are known on the host, their values come from the device on first read.</summary>
public sealed class DeviceLogsTests
{
    [Fact]
    public void Count_keys_and_contains_key_read_nothing_and_name_exactly_the_values_a_read_brings()
    {
        var (x, y) = TinyProblems.FashionMnist(128);
        using var trainer = new Trainer(TinyProblems.Mlp(seed: 1), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, Metrics = new[] { "accuracy" } });
        var checkedSteps = 0;
        var probe = new LambdaCallback
        {
            BatchEnd = (_, logs) =>
            {
                var device = Assert.IsType<DeviceLogs>(logs);
                var names = device.Keys.ToArray();
                Assert.Equal(names.Length, device.Count);
                Assert.True(device.ContainsKey("loss") && device.ContainsKey("loss_scale") && !device.ContainsKey("val_loss"));
                Assert.False(device.IsRead);
                var values = new Dictionary<string, double>(device);
                Assert.True(device.IsRead);
                Assert.Equal(names.Order(), values.Keys.Order());
                Assert.Contains("ms_per_step", names);
                checkedSteps++;
            },
        };
        trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 32, Verbose = 0, Callbacks = new Callback[] { probe } });
        Assert.Equal(4, checkedSteps);
    }
}
