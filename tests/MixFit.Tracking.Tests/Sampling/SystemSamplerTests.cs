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
        using (var sampler = new SystemSampler(run, TimeSpan.FromMilliseconds(100), aggregateEvery: 2, nvml: null))
        {
            var sample = sampler.Sample();
            Assert.InRange(sample["proc.memory.rssMB"], 1, 100_000);
            Assert.InRange(sample["memory_percent"], 0, 100);
            Assert.Contains(sample.Keys, k => k.StartsWith("disk.", StringComparison.Ordinal) && k.EndsWith(".usagePercent", StringComparison.Ordinal));
            Assert.DoesNotContain(sample.Keys, k => k.StartsWith("gpu.", StringComparison.Ordinal));
            Thread.Sleep(1000);
            Assert.True(sampler.Peaks.ContainsKey("proc.memory.rssMB"), string.Join(",", sampler.Peaks.Keys));
            Assert.True(sampler.Peaks.ContainsKey("cpu"), string.Join(",", sampler.Peaks.Keys));
        }

        run.Finish();
        var records = temp.Open().Metrics(run.Id, "system");
        Assert.NotEmpty(records);
        Assert.Contains(records, r => r.Values.ContainsKey("proc.memory.rssMB.max"));
        Assert.True(File.Exists(Path.Combine(run.Folder, "system.jsonl")));
    }
}
