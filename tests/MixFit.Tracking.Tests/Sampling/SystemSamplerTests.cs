using MixFit.Tracking.Sampling;

namespace MixFit.Tracking.Tests.Sampling;

public sealed class SystemSamplerTests : IDisposable
{
    private readonly TempStore temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void A_missing_nvml_library_means_no_gpu_metrics_and_no_error()
    {
        Assert.Null(Nvml.TryCreate("libnvidia-ml-not-here.so.1"));
    }

    [Fact]
    public void Samples_use_weights_and_biases_names_and_land_in_the_run_with_maxima()
    {
        var run = temp.Open().StartRun("sys");

        // No timer and a scripted CPU counter: the test decides when ticks happen and what the CPU did.
        var cpu = new Queue<(ulong Busy, ulong Total)?>(new (ulong, ulong)?[] { (100, 1000), (150, 1100), (350, 1300), (360, 1400) });
        using (var sampler = new SystemSampler(run, Timeout.InfiniteTimeSpan, aggregateEvery: 2, nvml: null, () => cpu.Dequeue()))
        {
            var sample = sampler.Sample();
            Assert.InRange(sample["proc.memory.rssMB"], 1, 100_000);
            Assert.InRange(sample["memory_percent"], 0, 100);
            Assert.Contains(sample.Keys, k => k.StartsWith("disk.", StringComparison.Ordinal) && k.EndsWith(".usagePercent", StringComparison.Ordinal));
            Assert.DoesNotContain(sample.Keys, k => k.StartsWith("gpu.", StringComparison.Ordinal));
            Assert.False(sample.ContainsKey("cpu"), "the first CPU reading has nothing to compare with");

            sampler.Tick();                                   // cpu 50/100 = 50 %
            sampler.Tick();                                   // cpu 200/200 = 100 %: the window of 2 is logged
            sampler.Tick();                                   // cpu 10/100 = 10 %, left in the window until Dispose
            Assert.Equal(100, sampler.Peaks["cpu"]);
            Assert.True(sampler.Peaks.ContainsKey("proc.memory.rssMB"), string.Join(",", sampler.Peaks.Keys));
        }

        run.Finish();
        var records = temp.Open().Metrics(run.Id, "system");
        Assert.Equal(2, records.Count);
        Assert.Equal(75, records[0].Values["cpu"]);
        Assert.Equal(100, records[0].Values["cpu.max"]);
        Assert.Equal(10, records[1].Values["cpu"]);
        Assert.Contains(records, r => r.Values.ContainsKey("proc.memory.rssMB.max"));
        Assert.True(File.Exists(Path.Combine(run.Folder, "system.jsonl")));
    }
}
