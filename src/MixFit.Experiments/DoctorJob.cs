using System.Globalization;
using MixFit.Data;
using MixFit.Native;
using MixFit.Precision;
using MixFit.Training;

namespace MixFit.Experiments;

/// <summary>
/// <c>mixfit doctor</c>'s job: versions, loaded libraries, devices, CPU precision features, a measured training step
/// per policy on the reference workloads (<see cref="ReferenceWorkloads"/>), kernel throughput, and the policy to use
/// (<see cref="PrecisionAdvice.Recommend"/>), written to the writer it is given.
/// </summary>
public static class DoctorJob
{
    /// <summary>Writes the report to <paramref name="output"/>; <paramref name="kernelSeconds"/> is the time each kernel throughput probe runs.</summary>
    public static void Run(TextWriter output, double kernelSeconds = 0.1)
    {
        output.WriteLine("Loading TorchSharp...");
        var report = SystemReport.Collect();
        string Flag(bool on) => on ? "yes" : "no";
        var cpu = report.Cpu;
        output.WriteLine($"MixFit        {report.MixFitVersion}");
        output.WriteLine($".NET          {report.DotNetVersion}");
        output.WriteLine($"OS            {report.OperatingSystem}");
        output.WriteLine($"TorchSharp    {report.TorchSharpVersion} (compiled for libtorch {report.TorchSharpBuiltFor})");
        var build = report.LibTorchBuild;
        output.WriteLine(build.Version is { } loaded
            ? $"libtorch      {loaded} (read from the loaded library; {(build.CudaVersion is { } cu ? $"CUDA {cu}{(build.CudnnVersion is { } dnn ? $", cuDNN {dnn}" : "")}" : "CPU build")}{(build.CpuCapability is { } cap ? $", CPU kernels {cap}" : "")})"
            : $"libtorch      {report.LibTorchVersion} (TorchSharp's; the loaded library's own version is unreadable: {build.Configuration})");
        foreach (var library in report.NativeLibraries)
        {
            output.WriteLine($"  loaded      {library}");
        }

        output.WriteLine($"Device        {(report.CudaAvailable ? $"cuda ({report.CudaDeviceCount} device(s))" : $"cpu ({report.CudaUnavailableReason})")}");
        foreach (var gpu in report.CudaDevices)
        {
            string tensorCores = gpu.TensorCoreDTypes.Count == 0 ? "no Tensor Cores for half precision" : "Tensor Cores: " + string.Join(", ", gpu.TensorCoreDTypes);
            output.WriteLine($"  cuda:{gpu.Index}      {gpu.Name}, compute capability {gpu.ComputeCapability}, {gpu.TotalMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB, {tensorCores}");
        }

        if (report.CudaDriverVersion is { } driver)
        {
            output.WriteLine($"  driver      CUDA {driver}");
        }
        output.WriteLine($"CPU           {cpu.Model}, {report.CpuThreads} threads");
        output.WriteLine($"  AVX2        {Flag(cpu.Avx2)}");
        output.WriteLine($"  AVX-512     {Flag(cpu.Avx512)}");
        output.WriteLine($"  AVX512-BF16 {Flag(cpu.Avx512Bf16)}");
        output.WriteLine($"  AMX-BF16    {Flag(cpu.AmxBf16)}");
        output.WriteLine($"  AVX512-FP16 {Flag(cpu.Avx512Fp16)}");
        output.WriteLine($"  F16C        {Flag(cpu.F16C)} (conversion only)");
        output.WriteLine($"AMP kernels   {report.AmpKernels}");
        output.WriteLine($"Data          Fashion-MNIST {(FashionMnist.FullSetInstalled ? "full set (dataset-fashion-mnist)" : "embedded subset (6,000 train / 1,000 test)")}");

        var device = MixFit.Native.TorchRuntime.DefaultDevice;
        output.WriteLine($"Training step (batch {new TrainJobOptions().BatchSize}, median ms/step after a warm-up step, measured now on this {(report.CudaAvailable ? "GPU" : "CPU")}):");
        var workloads = ReferenceWorkloads.Measure(device, output);
        output.Write(StepTable(workloads));

        output.WriteLine("Kernels       (GFLOP/s, measured now; relative to float32)");
        var measured = ThroughputProbe.Measure(device, kernelSeconds);
        var relative = ThroughputProbe.RelativeSpeed(measured);
        foreach (var group in measured.GroupBy(r => r.DType))
        {
            string rates = string.Join("  ", group.Select(r => $"{r.Operation} {r.GigaflopsPerSecond,7:F1}"));
            output.WriteLine($"  {group.Key,-11} {rates}  ({relative[group.Key]:F2}x)");
        }

        var (policy, reason) = PrecisionAdvice.Recommend(workloads);
        output.WriteLine($"Recommended   {policy.Name}: {reason}");
    }

    /// <summary>The per-policy table: ms/step and speed-up against float32, or why a policy was not measured.</summary>
    internal static string StepTable(IReadOnlyDictionary<string, IReadOnlyList<StepTiming>> workloads)
    {
        var policies = ReferenceWorkloads.Policies;
        var header = new[] { "workload" }.Concat(policies.Select(p => p.Name)).ToArray();
        var rows = new List<string[]>();
        string? first = workloads.Keys.FirstOrDefault();
        foreach (var (name, timings) in workloads)
        {
            double baseline = timings.First(t => t.Policy == DTypePolicy.Float32).MsPerStep;
            rows.Add(new[] { name }.Concat(policies.Select(p =>
            {
                if (timings.FirstOrDefault(t => t.Policy == p) is not { } t)
                {
                    double slower = workloads[first!].First(x => x.Policy == p).MsPerStep / workloads[first!].First(x => x.Policy == DTypePolicy.Float32).MsPerStep;
                    return $"not measured ({slower.ToString("F0", CultureInfo.InvariantCulture)}x slower on {first})";
                }

                string cell = t.MsPerStep.ToString("F1", CultureInfo.InvariantCulture);
                if (p != DTypePolicy.Float32)
                {
                    cell += $" ({(baseline / t.MsPerStep).ToString("F2", CultureInfo.InvariantCulture)}x{(t.JudgedEarly ? ", 1 step" : "")})";
                }

                return cell;
            })).ToArray());
        }

        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
        var text = new System.Text.StringBuilder();
        text.AppendLine(("  " + string.Join("  ", header.Select((h, i) => h.PadRight(widths[i])))).TrimEnd());
        foreach (var row in rows)
        {
            text.AppendLine(("  " + string.Join("  ", row.Select((c, i) => c.PadRight(widths[i])))).TrimEnd());
        }

        return text.ToString();
    }
}
