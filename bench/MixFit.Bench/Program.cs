using System.Diagnostics;
using System.Globalization;
using MixFit.Bench;
using MixFit.Native;
using MixFit.Optimizers;
using MixFit.Precision;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

// MixFit's step path against hand-written TorchSharp loops, side by side in one process. Prints median ms/step and
// the ratios the precision core promises. Options: --steps N (default 20), --half-steps N for float16 runs
// (default 10: float16 compute is emulated on most CPUs), --warmup N (default 3), --fit-rounds N (default 10),
// --models small-cnn,resnet18,fit,data,tracking ("fit": Fit against the minimal loop; "data": the input pipeline;
// "tracking": logging throughput and the tracker's cost inside Fit; "transfer": ResNet50 full vs frozen; "peers", not
// in the default set: the configurations bench/peers compares with PyTorch, --json FILE writes them).
if (args.Length == 4 && args[0] == "--transfer-child")
{
    TransferBenchmark.Child(args[1], args[2] == "frozen", int.Parse(args[3], CultureInfo.InvariantCulture));
    return;
}

var options = BenchOptions.Parse(args);
TorchRuntime.EnsureLoaded();
var report = SystemReport.Collect();
Console.WriteLine($"MixFit bench - {report.Cpu.Model}, {report.CpuThreads} threads, libtorch {report.LibTorchVersion}, " +
    $"AVX512-BF16 {(report.Cpu.Avx512Bf16 ? "yes" : "no")}, AMX-BF16 {(report.Cpu.AmxBf16 ? "yes" : "no")}, AVX512-FP16 {(report.Cpu.Avx512Fp16 ? "yes" : "no")}");
Console.WriteLine($"steps {options.Steps} (float16: {options.HalfSteps}) after {options.Warmup} warm-up; median ms/step");

var workloads = new List<Workload>();
if (options.Models.Contains("small-cnn"))
{
    workloads.Add(Workload.SmallCnnBatch128());
}

if (options.Models.Contains("resnet18"))
{
    workloads.Add(Workload.ResNet18Batch16());
}

foreach (var workload in workloads)
{
    Console.WriteLine();
    Console.WriteLine(workload.Name);
    // Every configuration lives side by side and they take turns, one step each per round, so drift in the
    // machine's speed (other processes, turbo, thermal) hits all of them alike.
    var configs = new List<(string Label, bool Half, Action Step)>
    {
        ("hand loop float32 + torch.optim.Adam", false, HandLoop(workload, ScalarType.Float32)),
        ("hand loop pure bfloat16 + torch.optim.Adam", false, HandLoop(workload, ScalarType.BFloat16)),
        ("MixFit float32 + Adam", false, MixFitLoop(workload, DTypePolicy.Float32, null)),
        ("MixFit mixed_bfloat16 + Adam", false, MixFitLoop(workload, DTypePolicy.MixedBFloat16, null)),
        ("MixFit mixed_bfloat16 + dynamic loss scale", false, MixFitLoop(workload, DTypePolicy.MixedBFloat16, new LossScaleOptions())),
        ("MixFit mixed_float16, no loss scale", true, MixFitLoop(workload, DTypePolicy.MixedFloat16, LossScaleOptions.None)),
        ("MixFit mixed_float16 + dynamic loss scale", true, MixFitLoop(workload, DTypePolicy.MixedFloat16, new LossScaleOptions())),
        ("MixFit float32 + Adam, channels_last", false, MixFitLoop(workload, DTypePolicy.Float32, null, channelsLast: true)),
        ("MixFit mixed_bfloat16 + Adam, channels_last", false, MixFitLoop(workload, DTypePolicy.MixedBFloat16, null, channelsLast: true)),
    };
    var times = configs.ToDictionary(c => c.Label, _ => new List<double>());
    for (int round = 0; round < options.Warmup + options.Steps; round++)
    {
        foreach (var (label, half, step) in configs)
        {
            if (half && round >= options.Warmup + options.HalfSteps)
            {
                continue;
            }

            var watch = Stopwatch.StartNew();
            step();
            if (round >= options.Warmup)
            {
                times[label].Add(watch.Elapsed.TotalMilliseconds);
            }
        }
    }

    var results = times.ToDictionary(t => t.Key, t => Median(t.Value));
    foreach (var (label, _, _) in configs)
    {
        Console.WriteLine($"  {label,-44} {results[label],9:F1} ms/step");
    }

    Console.WriteLine("  ratios (bar in brackets)");
    Ratio("MixFit float32 / hand float32", results["MixFit float32 + Adam"], results["hand loop float32 + torch.optim.Adam"], 1.00);
    Ratio("MixFit mixed_bfloat16 / hand pure bfloat16", results["MixFit mixed_bfloat16 + Adam"], results["hand loop pure bfloat16 + torch.optim.Adam"], 1.10);
    Ratio("mixed_bfloat16: dynamic scale / none", results["MixFit mixed_bfloat16 + dynamic loss scale"], results["MixFit mixed_bfloat16 + Adam"], 1.05);
    Ratio("mixed_float16: dynamic scale / none", results["MixFit mixed_float16 + dynamic loss scale"], results["MixFit mixed_float16, no loss scale"], 1.05);
    Ratio("MixFit mixed_bfloat16 / MixFit float32", results["MixFit mixed_bfloat16 + Adam"], results["MixFit float32 + Adam"], null);
    Ratio("MixFit mixed_float16 / MixFit float32", results["MixFit mixed_float16 + dynamic loss scale"], results["MixFit float32 + Adam"], null);
    Ratio("float32: channels_last / contiguous", results["MixFit float32 + Adam, channels_last"], results["MixFit float32 + Adam"], null);
    Ratio("mixed_bfloat16: channels_last / contiguous", results["MixFit mixed_bfloat16 + Adam, channels_last"], results["MixFit mixed_bfloat16 + Adam"], null);
}

if (options.Models.Contains("fit"))
{
    FitBenchmark.Run(options.FitRounds);
}

if (options.Models.Contains("data"))
{
    DataBenchmark.Run(images: 500);
}

if (options.Models.Contains("tracking"))
{
    TrackingBenchmark.Run(options.FitRounds);
}

if (options.Models.Contains("peers"))
{
    if (options.Profile is { } profile)
    {
        PeerBenchmark.Profile(options, profile, options.Profiler ?? throw new ArgumentException("--profile needs --profiler LIB (bench/peers/profile.sh builds it)."));
    }
    else
    {
        PeerBenchmark.Run(options);
    }
}

if (options.Models.Contains("transfer"))
{
    TransferBenchmark.Run(steps: 5);
}

static double Median(List<double> values)
{
    var sorted = values.OrderBy(v => v).ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

static void Ratio(string label, double value, double baseline, double? bar)
{
    double ratio = value / baseline;
    string verdict = bar is { } b ? $"[<= {b.ToString("F2", CultureInfo.InvariantCulture)}x] {(ratio <= b ? "met" : "NOT MET")}" : "[information]";
    Console.WriteLine($"    {label,-44} {ratio,6:F2}x  {verdict}");
}

static Action HandLoop(Workload workload, ScalarType dtype)
{
    var model = workload.NewModel();
    if (dtype != ScalarType.Float32)
    {
        model.to(dtype);
    }

    var optimizer = optim.Adam(model.parameters(), 1e-3);
    return () =>
    {
        using var scope = NewDisposeScope();
        var logits = model.call(workload.X.to(dtype));
        var loss = F.cross_entropy(logits.to(ScalarType.Float32), workload.Y);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    };
}

static Action MixFitLoop(Workload workload, DTypePolicy policy, LossScaleOptions? scaling, bool channelsLast = false)
{
    var model = workload.NewModel();
    var precision = PrecisionStrategy.Create(policy, new PrecisionOptions { LossScale = scaling });
    var optimizer = new Adam(precision.Prepare(model, CPU), 1e-3);
    if (channelsLast)
    {
        MixFit.Training.MemoryLayout.ToChannelsLast(model);
    }

    return () =>
    {
        using var scope = NewDisposeScope();
        var input = precision.ConvertInput(workload.X);
        var logits = precision.ConvertOutput(model.call(channelsLast ? MixFit.Training.MemoryLayout.ChannelsLast(input) : input));
        precision.Backward(F.cross_entropy(logits, workload.Y));
        precision.Step(optimizer);
    };
}
