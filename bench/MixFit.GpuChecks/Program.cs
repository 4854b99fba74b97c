using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MixFit.GpuChecks;
using MixFit.Native;
using MixFit.Precision;
using static TorchSharp.torch;

// mixfit-gpu: the GPU verification kit's runner (tools/gpu-kit). Commands:
//   checks [--device cuda|cpu] [--only a,b] [--json FILE]   the CUDA issue's checks; exit 1 when one fails
//   bench  [--device cuda|cpu] [--models resnet50,small-cnn] [--batch 64] [--small-batch 256] [--image-size 224] [--steps 30] [--warmup 5] [--json FILE]
//          (--batch and --image-size are ResNet50's; the small CNN trains on 28x28 batches of --small-batch)
//   nccl   [--device cuda] [--json FILE]                     the NCCL path at world size 1: a sum checked, all-reduce bandwidth
//   list                                                     the checks' names
const string Usage = "usage: mixfit-gpu checks|bench|nccl|list [--device cuda|cpu] [--only names] [--models m,...] [--batch N] [--small-batch N] [--image-size N] [--steps N] [--warmup N] [--json FILE]";
if (args.Length == 0 || args[0] is not ("checks" or "bench" or "nccl" or "list"))
{
    Console.Error.WriteLine(Usage);
    return 2;
}

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = 1; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
    {
        Console.Error.WriteLine($"expected --option value, got \"{args[i]}\"\n{Usage}");
        return 2;
    }

    options[args[i][2..]] = args[++i];
}

string? unknown = options.Keys.FirstOrDefault(k => k is not ("device" or "only" or "models" or "batch" or "small-batch" or "image-size" or "steps" or "warmup" or "json"));
if (unknown is not null)
{
    Console.Error.WriteLine($"unknown option --{unknown}\n{Usage}");
    return 2;
}

if (args[0] == "list")
{
    foreach (var (name, _) in Checks.All)
    {
        Console.WriteLine(name);
    }

    return 0;
}

int Number(string name, int fallback) =>
    !options.TryGetValue(name, out var text) ? fallback
    : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n
    : throw new ArgumentException($"--{name} expects a positive whole number, got \"{text}\"");

var report = SystemReport.Collect();
string deviceName = options.GetValueOrDefault("device", "cuda");
if (deviceName == "cuda" && report.CudaUnavailableReason is { } noCuda)
{
    Console.Error.WriteLine($"mixfit-gpu: --device cuda, but CUDA is not available in this process: {noCuda}; loaded: {string.Join("; ", report.NativeLibraries)}");
    return 3;
}

var device = deviceName switch { "cuda" => CUDA, "cpu" => CPU, _ => throw new ArgumentException($"--device expects cuda or cpu, got \"{deviceName}\"") };
Console.WriteLine($"mixfit-gpu {args[0]} on {deviceName}: libtorch {report.LibTorchVersion}{(report.LibTorchBuild.CudaVersion is { } cu ? $" (CUDA {cu})" : "")}, {string.Join(", ", report.CudaDevices.Select(d => $"{d.Name} cc {d.ComputeCapability}"))}");
var json = new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

if (args[0] == "nccl")
{
    if (device.type != TorchSharp.DeviceType.CUDA)
    {
        Console.Error.WriteLine("mixfit-gpu nccl: NCCL all-reduces CUDA tensors; run it with --device cuda on a GPU machine.");
        return 3;
    }

    var (version, library, measured) = NcclBandwidth.Run(device, Console.Out);
    if (options.TryGetValue("json", out var ncclFile))
    {
        File.WriteAllText(ncclFile, JsonSerializer.Serialize(new { version, library, results = measured }, json));
    }

    return 0;
}

if (args[0] == "checks")
{
    var only = options.TryGetValue("only", out var names) ? names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet() : null;
    var missing = only?.Where(n => Checks.All.All(c => c.Name != n)).ToList();
    if (missing is { Count: > 0 })
    {
        Console.Error.WriteLine($"unknown check(s): {string.Join(", ", missing)}; known: {string.Join(", ", Checks.All.Select(c => c.Name))}");
        return 2;
    }

    var outcomes = new List<object>();
    int failed = 0;
    foreach (var (name, run) in Checks.All.Where(c => only is null || only.Contains(c.Name)))
    {
        var watch = Stopwatch.StartNew();
        string? error = null;
        try
        {
            using var scope = NewDisposeScope();
            run(device);
        }
        catch (Exception e)
        {
            error = e is CheckFailedException ? e.Message : e.ToString();
            failed++;
        }

        Console.WriteLine(error is null ? $"PASS {name} ({watch.Elapsed.TotalSeconds:F1} s)" : $"FAIL {name} ({watch.Elapsed.TotalSeconds:F1} s): {error}");
        outcomes.Add(new { name, passed = error is null, seconds = watch.Elapsed.TotalSeconds, error });
    }

    if (options.TryGetValue("json", out var file))
    {
        File.WriteAllText(file, JsonSerializer.Serialize(outcomes, json));
    }

    Console.WriteLine($"{outcomes.Count - failed} passed, {failed} failed");
    return failed == 0 ? 0 : 1;
}

var models = options.GetValueOrDefault("models", "resnet50,small-cnn").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
var policies = new[] { DTypePolicy.Float32, DTypePolicy.MixedFloat16, DTypePolicy.MixedBFloat16 };
// ResNet50 also in channels_last (NHWC) under float32 and mixed_float16: whether it should be the default on this device.
var nhwc = new[] { DTypePolicy.Float32, DTypePolicy.MixedFloat16 };
var all = new List<BenchResult>();
foreach (var model in models)
{
    bool small = model == "small-cnn";
    var configurations = policies.Select(p => (p, false)).Concat(small ? Enumerable.Empty<(DTypePolicy, bool)>() : nhwc.Select(p => (p, true)));
    all.AddRange(Benchmark.Run(device, model, small ? Number("small-batch", 256) : Number("batch", 64), small ? 28 : Number("image-size", 224), Number("steps", 30), Number("warmup", 5), configurations, Console.Out));
}

if (options.TryGetValue("json", out var benchFile))
{
    File.WriteAllText(benchFile, JsonSerializer.Serialize(all, json));
}

return 0;
