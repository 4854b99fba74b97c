using MixFit.Tests.Support;

namespace MixFit.Tests.Tools;

/// <summary>
/// tools/build-torchsharp-shim.sh's mechanics on a stand-in source tree and libtorch (headers and stub libraries the
/// test writes): every unit compiled, every failing one listed with its first error, the shim linked with its RPATH.
/// The real build against TorchSharp's 25 units is in the closing notes (it needs the sources, which are not vendored).
/// </summary>
public sealed class BuildTorchSharpShimTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-shim-").FullName;

    private static string Script { get; } = Path.Combine(RepositoryFiles.Root, "tools", "build-torchsharp-shim.sh");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static bool HasCompiler => RepositoryFiles.OnPath("g++");

    private static (int ExitCode, string Output) Run(string file, string arguments) => RepositoryFiles.Run(file, arguments, minutes: 3);

    /// <summary>A libtorch stand-in: the one header the units include and empty libtorch/libtorch_cpu/libc10 libraries.</summary>
    private string FakeLibTorch()
    {
        string torch = Path.Combine(dir, "torch");
        string header = Path.Combine(torch, "include", "torch", "csrc", "api", "include", "torch", "torch.h");
        Directory.CreateDirectory(Path.GetDirectoryName(header)!);
        File.WriteAllText(header, "#pragma once\nnamespace torch { inline int answer() { return 42; } }\ninline int torch_answer() { return torch::answer(); }\n");
        Directory.CreateDirectory(Path.Combine(torch, "lib"));
        File.WriteAllText(Path.Combine(dir, "empty.cpp"), "int mixfit_stub_symbol = 0;\n");
        foreach (var name in new[] { "torch", "torch_cpu", "c10" })
        {
            var built = Run("g++", $"-shared -fPIC -o {Path.Combine(torch, "lib", $"lib{name}.so")} {Path.Combine(dir, "empty.cpp")}");
            Assert.True(built.ExitCode == 0, built.Output);
        }

        return torch;
    }

    private string Sources(bool withBrokenUnit)
    {
        string native = Path.Combine(dir, "TorchSharp", "src", "Native");
        string units = Path.Combine(native, "LibTorchSharp");
        Directory.CreateDirectory(units);
        File.WriteAllText(Path.Combine(native, "Stdafx.h"), "#pragma once\n#define EXPORT_API(ret) extern \"C\" __attribute__((visibility(\"default\"))) ret\n");
        File.WriteAllText(Path.Combine(units, "THSGood.cpp"), "#include \"../Stdafx.h\"\n#include \"torch/torch.h\"\nEXPORT_API(int) THSGood_answer() { return torch_answer(); }\n");
        File.WriteAllText(Path.Combine(units, "crc.c"), "int crc_helper(int x) { return x * 3; }\n");
        string broken = Path.Combine(units, "THSBroken.cpp");
        if (withBrokenUnit)
        {
            File.WriteAllText(broken, "#include \"torch/torch.h\"\nint broken() { return torch::moved_in_a_newer_libtorch(); }\n");
        }
        else if (File.Exists(broken))
        {
            File.Delete(broken);
        }

        return Path.Combine(dir, "TorchSharp");
    }

    [Fact]
    public void A_unit_that_does_not_compile_is_listed_with_its_first_error_and_the_others_still_compile()
    {
        if (!HasCompiler)
        {
            Assert.Fail("g++ is not on PATH; the shim script needs it (Debian: apt-get install g++)");
        }

        string torch = FakeLibTorch();
        string output = Path.Combine(dir, "out");
        var run = Run("bash", $"{Script} --torchsharp {Sources(withBrokenUnit: true)} --libtorch {torch} --out {output} --jobs 2");

        Assert.True(run.ExitCode == 3, run.Output);
        Assert.Contains("1 of 3 units failed to compile", run.Output);
        Assert.Matches(@"THSBroken\.cpp: .*moved_in_a_newer_libtorch", run.Output);
        Assert.Contains("ok     THSGood.cpp", run.Output);
        Assert.Contains("moved_in_a_newer_libtorch", File.ReadAllText(Path.Combine(output, "logs", "THSBroken.log")));
        Assert.False(File.Exists(Path.Combine(output, "libLibTorchSharp.so")));
    }

    [Fact]
    public void The_shim_is_linked_against_the_given_libtorch_with_an_rpath_to_it()
    {
        if (!HasCompiler)
        {
            Assert.Fail("g++ is not on PATH; the shim script needs it (Debian: apt-get install g++)");
        }

        string torch = FakeLibTorch();
        string output = Path.Combine(dir, "out");
        var run = Run("bash", $"{Script} --torchsharp {Sources(withBrokenUnit: false)} --libtorch {torch} --out {output} --jobs 2");

        Assert.True(run.ExitCode == 0, run.Output);
        string shim = Path.Combine(output, "libLibTorchSharp.so");
        Assert.True(File.Exists(shim), run.Output);
        var symbols = Run("nm", $"-D --defined-only {shim}");
        Assert.Contains("THSGood_answer", symbols.Output);
        var dynamic = Run("readelf", $"-d {shim}");
        Assert.Contains(Path.Combine(torch, "lib"), dynamic.Output);
        Assert.Contains("libtorch_cpu.so", dynamic.Output);
        Assert.Contains("cxx11 abi: 0", File.ReadAllText(Path.Combine(output, "shim-build.txt")));   // the stub libc10 has no C++11-ABI symbols
    }

    [Fact]
    public void An_extra_unit_is_linked_in_and_one_that_does_not_compile_is_left_out_with_a_warning()
    {
        if (!HasCompiler)
        {
            Assert.Fail("g++ is not on PATH; the shim script needs it (Debian: apt-get install g++)");
        }

        string torch = FakeLibTorch();
        string good = Path.Combine(dir, "mixfit_extra.cpp");
        File.WriteAllText(good, "extern \"C\" __attribute__((visibility(\"default\"))) int MixFit_extra_answer() { return 7; }\n");
        string bad = Path.Combine(dir, "mixfit_cuda_needs_headers.cpp");
        File.WriteAllText(bad, "#include <c10/cuda/CUDACachingAllocator.h>\n");
        string output = Path.Combine(dir, "out");
        var run = Run("bash", $"{Script} --torchsharp {Sources(withBrokenUnit: false)} --libtorch {torch} --out {output} --extra {good} --extra {bad}");

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("ok     mixfit_extra.cpp (extra)", run.Output);
        Assert.Matches(@"warning: the extra unit mixfit_cuda_needs_headers\.cpp did not compile \(logs/extra-mixfit_cuda_needs_headers\.log: .*error.*\); the shim is built without it", run.Output);
        var symbols = Run("nm", $"-D --defined-only {Path.Combine(output, "libLibTorchSharp.so")}").Output;
        Assert.Contains("MixFit_extra_answer", symbols);
        Assert.Contains("THSGood_answer", symbols);
    }

    [Fact]
    public void The_cuda_memory_extension_is_not_in_torchsharps_own_shim_so_no_statistics_are_reported()
    {
        Assert.False(MixFit.Native.CudaMemory.Available);
        Assert.Null(MixFit.Native.CudaMemory.Read(0));
        Assert.False(MixFit.Native.CudaMemory.ResetPeak(0));
    }

    [Fact]
    public void Bad_arguments_name_what_was_expected()
    {
        var missing = Run("bash", $"{Script} --libtorch {dir} --out {dir}/out");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--torchsharp is required", missing.Output);

        var notTorch = Run("bash", $"{Script} --torchsharp {dir} --libtorch {dir} --out {dir}/out");
        Assert.Equal(2, notTorch.ExitCode);
        Assert.Contains("torch/csrc/api/include/torch/torch.h", notTorch.Output);

        var jobs = Run("bash", $"{Script} --torchsharp {dir} --libtorch {dir} --out {dir}/out --jobs many");
        Assert.Contains("--jobs must be a positive whole number, got 'many'", jobs.Output);
    }
}
