using System.Diagnostics;
using System.Globalization;
using MixFit.Applications;
using MixFit.Checkpoints;
using MixFit.Precision;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Bench;

/// <summary>
/// ResNet50 at 224x224, batch 8: full fine-tuning against a frozen base, float32 against mixed_bfloat16. Each
/// configuration runs in its own child process so that its peak resident memory (VmHWM) is its own. Also the load
/// time of the ~100 MB float32 ResNet50 safetensors file.
/// </summary>
internal static class TransferBenchmark
{
    private static readonly (string Name, string Policy, bool Frozen)[] Configurations =
    {
        ("full fine-tuning, float32", "float32", false),
        ("frozen base, float32", "float32", true),
        ("full fine-tuning, mixed_bfloat16", "mixed_bfloat16", false),
        ("frozen base, mixed_bfloat16", "mixed_bfloat16", true),
    };

    public static void Run(int steps)
    {
        Console.WriteLine();
        Console.WriteLine($"Transfer learning: ResNet50, 224x224, batch 8, {steps} measured steps after 2 warm-up (each configuration in its own process)");
        var results = new Dictionary<string, (double Ms, double PeakMb)>();
        foreach (var (name, policy, frozen) in Configurations)
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true };
            info.ArgumentList.Add(typeof(TransferBenchmark).Assembly.Location);
            info.ArgumentList.Add("--transfer-child");
            info.ArgumentList.Add(policy);
            info.ArgumentList.Add(frozen ? "frozen" : "full");
            info.ArgumentList.Add(steps.ToString(CultureInfo.InvariantCulture));
            using var child = Process.Start(info)!;
            var line = child.StandardOutput.ReadToEnd().Trim().Split('\n').Last().Split(' ');
            child.WaitForExit();
            results[name] = (double.Parse(line[0], CultureInfo.InvariantCulture), double.Parse(line[1], CultureInfo.InvariantCulture));
            Console.WriteLine($"  {name,-36} {results[name].Ms,8:F0} ms/step   peak {results[name].PeakMb,6:F0} MB");
        }

        foreach (var policy in new[] { "float32", "mixed_bfloat16" })
        {
            double ratio = results[$"full fine-tuning, {policy}"].Ms / results[$"frozen base, {policy}"].Ms;
            Console.WriteLine($"    {$"full / frozen ({policy})",-44} {ratio,6:F2}x  [frozen at least 2x faster] {(ratio >= 2 ? "met" : "NOT MET")}");
        }

        string file = Path.Combine(Path.GetTempPath(), $"mixfit-resnet50-{Environment.ProcessId}.safetensors");
        try
        {
            SafeTensors.Save(file, Backbone.Create(BackboneKind.ResNet50).state_dict());
            var watch = Stopwatch.StartNew();
            var model = TransferModel.Create(BackboneKind.ResNet50, classes: 5);
            double build = watch.Elapsed.TotalSeconds;
            watch.Restart();
            WeightLoader.Load(model.Base, file);
            Console.WriteLine($"  load {new FileInfo(file).Length / 1e6:F0} MB ResNet50 safetensors into the model: {watch.Elapsed.TotalSeconds:F2} s (model construction {build:F2} s)");
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>The child process: prints "ms_per_step peak_mb".</summary>
    public static void Child(string policy, bool frozen, int steps)
    {
        manual_seed(0);
        var model = TransferModel.Create(BackboneKind.ResNet50, classes: 5, baseTrainable: !frozen, softmax: false);
        using var trainer = new Trainer(model, CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Parse(policy), ModuleOverrides = model.PrecisionOverrides });
        var x = randn(8, 3, 224, 224);
        var y = randint(0, 5, new long[] { 8 });
        var source = new MixFit.Data.TensorBatchSource(x, y, 8);
        var times = new List<double>();
        for (int i = 0; i < steps + 2; i++)
        {
            var watch = Stopwatch.StartNew();
            trainer.Fit(source, new FitOptions { Epochs = i + 1, InitialEpoch = i, Verbose = 0 });
            if (i >= 2)
            {
                times.Add(watch.Elapsed.TotalMilliseconds);
            }
        }

        double peak = MixFit.Tracking.Sampling.ProcessMemory.PeakResidentMegabytes() ?? double.NaN;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{times.Order().ElementAt(times.Count / 2):F1} {peak:F0}"));
    }
}
