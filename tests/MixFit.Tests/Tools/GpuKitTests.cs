using System.Text.Json;
using MixFit.Tests.Support;

namespace MixFit.Tests.Tools;

/// <summary>
/// The GPU verification kit as far as a CPU allows: tools/gpu-kit/pack.sh packs it (size, contents: no libtorch, no
/// shim), and its run.sh runs every stage on the CPU with the CPU libtorch standing in for a PyTorch wheel and
/// TorchSharp's own shim standing in for the one it would build (in a run on tools/current-libtorch: that libtorch
/// and the shim built against it). Slow: it publishes two apps and trains.
/// </summary>
[Trait("Category", "Slow")]
public sealed class GpuKitTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-kit-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>A stand-in TorchSharp source tree (the real one is not vendored): what the kit must carry.</summary>
    private string StandInTorchSharp()
    {
        string units = Path.Combine(dir, "TorchSharp", "src", "Native", "LibTorchSharp");
        Directory.CreateDirectory(units);
        File.WriteAllText(Path.Combine(units, "THSTorch.cpp"), "// stand-in\n");
        File.WriteAllText(Path.Combine(dir, "TorchSharp", "src", "Native", "Stdafx.h"), "#pragma once\n");
        return Path.Combine(dir, "TorchSharp");
    }

    [Fact]
    public void The_kit_packs_under_45_MiB_without_libtorch_and_runs_every_stage_on_a_cpu()
    {
        string kitFile = Path.Combine(dir, "mixfit-gpu-kit.tar.xz");
        var pack = RepositoryFiles.Run("bash", $"tools/gpu-kit/pack.sh --torchsharp {StandInTorchSharp()} --out {kitFile}", minutes: 12);
        Assert.True(pack.ExitCode == 0, pack.Output);
        long size = new FileInfo(kitFile).Length;
        Assert.True(size <= 45L * 1024 * 1024, $"{size / 1048576.0:F1} MiB");

        var list = RepositoryFiles.Run("tar", $"-tJf {kitFile}");
        var files = list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var needed in new[] { "dotnet/dotnet", "app/MixFit.Cli.dll", "app/MixFit.GpuChecks.dll", "run.sh", "build-torchsharp-shim.sh", "torch_amp_bench.py", "results.py", "data/fashion-mnist/train-images-idx3-ubyte.gz", "TorchSharp/src/Native/LibTorchSharp/THSTorch.cpp", "torchsharp-compat/compat.tsv", "torchsharp-compat/strip-functions.awk", "torchsharp-compat/named_tensors_removed.cpp", "torchsharp-compat/autograd_intrusive_nodes.cpp" })
        {
            Assert.Contains(files, f => f.EndsWith("mixfit-gpu-kit/" + needed, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(files, f => f.EndsWith("libtorch_cpu.so", StringComparison.Ordinal) || f.EndsWith("libLibTorchSharp.so", StringComparison.Ordinal));
        Assert.Contains(files, f => f.Contains("/dotnet/shared/Microsoft.NETCore.App/10.", StringComparison.Ordinal));

        Assert.Equal(0, RepositoryFiles.Run("tar", $"-xJf {kitFile} -C {dir}").ExitCode);
        var (torch, shim) = RepositoryFiles.TorchOfThisRun(dir);
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        string output = Path.Combine(dir, "out");
        var run = RepositoryFiles.Run("bash", $"{dir}/mixfit-gpu-kit/run.sh --quick --device cpu --torch-dir {torch} --prebuilt-shim {shim} --python {python} --out {output} --budget 900", minutes: 16);

        string results = File.ReadAllText(Path.Combine(output, "results.md"));
        foreach (var dotnetStage in new[] { "doctor", "checks", "bench", "compare" })
        {
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(results, $@"\| {dotnetStage} \| ok \|"), $"stage {dotnetStage} is not ok:\n{results}\n{Tail(Path.Combine(output, "doctor.txt"))}");
        }

        Assert.Contains($"libtorch      {ExpectedLibTorch.Version} (read from the loaded library", File.ReadAllText(Path.Combine(output, "doctor.txt")));
        Assert.Contains(Path.Combine(dir, "torch", "lib", "libtorch_cpu.so"), File.ReadAllText(Path.Combine(output, "doctor.txt")));
        using var checks = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "checks.json")));
        Assert.All(checks.RootElement.EnumerateArray(), c => Assert.True(c.GetProperty("passed").GetBoolean(), c.ToString()));
        Assert.Equal(10, checks.RootElement.GetArrayLength());
        using var bench = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "bench.json")));
        Assert.Equal(8, bench.RootElement.GetArrayLength());      // two models x three policies, ResNet50 also NHWC under two
        Assert.All(bench.RootElement.EnumerateArray(), r => Assert.Equal(2, r.GetProperty("host_reads").GetInt64()));
        Assert.Contains("| model | policy |", results);
        Assert.Contains("| nccl | skipped | 0 | - | NCCL needs CUDA (--device cpu) |", results);
        Assert.True(Directory.GetFiles(output).Length <= 8, string.Join(", ", Directory.GetFiles(output)));
        Assert.True(File.Exists(Path.Combine(output, "logs.tar.gz")));
        if (HasTorch(python))
        {
            Assert.Matches(@"\| torch-amp \| ok \|", results);
            Assert.True(run.ExitCode == 0, results);
        }
    }

    private static string Tail(string file) => File.Exists(file) ? string.Join("\n", File.ReadAllLines(file).TakeLast(15)) : $"({file} missing)";

    [Fact]
    public void A_run_without_a_shim_records_why_and_still_runs_what_does_not_need_it()
    {
        string kit = Path.Combine(dir, "kit");
        Directory.CreateDirectory(kit);
        foreach (var file in new[] { "run.sh", "torch_amp_bench.py", "results.py" })
        {
            File.Copy(Path.Combine(RepositoryFiles.Root, "tools", "gpu-kit", file), Path.Combine(kit, file));
        }

        string output = Path.Combine(dir, "out");
        var run = RepositoryFiles.Run("bash", $"{kit}/run.sh --quick --device cpu --torch-dir {dir}/nothing --python python3 --out {output}");
        Assert.NotEqual(0, run.ExitCode);
        string results = File.ReadAllText(Path.Combine(output, "results.md"));
        Assert.Contains("| shim | skipped | 0 | - | no libtorch found |", results);
        foreach (var stage in new[] { "doctor", "checks", "bench", "nccl", "compare" })
        {
            Assert.Contains($"| {stage} | skipped | 0 | - | no shim |", results);
        }

        Assert.Matches(@"\| torch-amp \| (ok|failed)", results);      // attempted anyway (fails where python3 has no torch)
        Assert.Contains("stage(s) not ok", results);
    }

    private static bool HasTorch(string python) => RepositoryFiles.Run(python, "-c \"import torch, torchvision\"").ExitCode == 0;
}
