using System.CommandLine;
using MixFit.Data;
using MixFit.Native;
using MixFit.Precision;

namespace MixFit.Cli;

/// <summary><c>mixfit doctor</c>: versions, devices and the CPU features relevant to precision.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var command = new Command("doctor", "Print versions, devices, CPU precision features, measured throughput per dtype and the recommended policy.");
        command.SetAction(_ => CommandGuard.Run(() => Run(Console.Out)));
        return command;
    }

    public static void Run(TextWriter output, double seconds = 0.3)
    {
        var report = SystemReport.Collect();

        string Flag(bool on) => on ? "yes" : "no";
        var cpu = report.Cpu;
        output.WriteLine($"MixFit        {report.MixFitVersion}");
        output.WriteLine($".NET          {report.DotNetVersion}");
        output.WriteLine($"OS            {report.OperatingSystem}");
        output.WriteLine($"TorchSharp    {report.TorchSharpVersion}");
        output.WriteLine($"libtorch      {report.LibTorchVersion}");
        output.WriteLine($"Device        {(report.CudaAvailable ? $"cuda ({report.CudaDeviceCount} device(s))" : "cpu (no CUDA device or no CUDA TorchSharp package)")}");
        output.WriteLine($"CPU           {cpu.Model}, {report.CpuThreads} threads");
        output.WriteLine($"  AVX2        {Flag(cpu.Avx2)}");
        output.WriteLine($"  AVX-512     {Flag(cpu.Avx512)}");
        output.WriteLine($"  AVX512-BF16 {Flag(cpu.Avx512Bf16)}");
        output.WriteLine($"  AMX-BF16    {Flag(cpu.AmxBf16)}");
        output.WriteLine($"  AVX512-FP16 {Flag(cpu.Avx512Fp16)}");
        output.WriteLine($"  F16C        {Flag(cpu.F16C)} (conversion only)");
        output.WriteLine($"AMP kernels   {report.AmpKernels}");
        output.WriteLine($"Data          Fashion-MNIST {(FashionMnist.FullSetInstalled ? "full set (dataset-fashion-mnist)" : "embedded subset (6,000 train / 1,000 test)")}");
        output.WriteLine("Throughput    (GFLOP/s, measured now; relative to float32)");
        var measured = PrecisionProbe.Measure(null, seconds);
        var relative = PrecisionProbe.RelativeSpeed(measured);
        foreach (var group in measured.GroupBy(r => r.DType))
        {
            string rates = string.Join("  ", group.Select(r => $"{r.Operation} {r.GigaflopsPerSecond,7:F1}"));
            output.WriteLine($"  {group.Key,-11} {rates}  ({relative[group.Key]:F2}x)");
        }

        var (policy, reason) = PrecisionProbe.Recommend(measured, report.CudaAvailable);
        output.WriteLine($"Recommended   {policy.Name}: {reason}");
    }
}
