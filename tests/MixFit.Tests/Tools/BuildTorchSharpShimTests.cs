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

    /// <summary>Makes the stand-in headers those of a libtorch 2.14: its version header, and an ATen.h that insists on C++20 as PyTorch's does.</summary>
    private static void AsLibTorch214(string torch)
    {
        string include = Path.Combine(torch, "include");
        Directory.CreateDirectory(Path.Combine(include, "torch", "headeronly"));
        File.WriteAllText(Path.Combine(include, "torch", "headeronly", "version.h"), "#pragma once\n#define TORCH_VERSION_MAJOR 2\n#define TORCH_VERSION_MINOR 14\n#define TORCH_VERSION_PATCH 1\n");
        Directory.CreateDirectory(Path.Combine(include, "ATen"));
        File.WriteAllText(Path.Combine(include, "ATen", "ATen.h"), "#pragma once\n#if !defined(__cplusplus) || __cplusplus < 202002L\n#error C++20 or later compatible compiler is required to use PyTorch.\n#endif\n");
        string header = Path.Combine(include, "torch", "csrc", "api", "include", "torch", "torch.h");
        File.WriteAllText(header, "#pragma once\n#include <ATen/ATen.h>\n" + File.ReadAllText(header).Replace("#pragma once\n", ""));
    }

    [Fact]
    public void The_cxx_standard_is_the_one_the_headers_require_and_std_overrides_it()
    {
        Assert.True(HasCompiler, "g++ is not on PATH; the shim script needs it (Debian: apt-get install g++)");
        string torch = FakeLibTorch();
        string sources = Sources(withBrokenUnit: false);

        var before = Run("bash", $"{Script} --torchsharp {sources} --libtorch {torch} --out {dir}/old");
        Assert.True(before.ExitCode == 0, before.Output);
        Assert.Contains("(c++17: its headers need no more than C++17", before.Output);
        Assert.Contains("libtorch (version unknown)", before.Output);

        AsLibTorch214(torch);
        var current = Run("bash", $"{Script} --torchsharp {sources} --libtorch {torch} --out {dir}/new");
        Assert.True(current.ExitCode == 0, current.Output);
        Assert.Contains("against libtorch 2.14.1 in", current.Output);
        Assert.Contains("(c++20: its headers require C++20", current.Output);
        string record = File.ReadAllText(Path.Combine(dir, "new", "shim-build.txt"));
        Assert.Contains("libtorch version: 2.14.1", record);
        Assert.Contains("c++ standard: c++20", record);

        // Told C++17, the headers' own #error stops every unit that includes them: the override is what compiles.
        var forced = Run("bash", $"{Script} --torchsharp {sources} --libtorch {torch} --out {dir}/forced --std c++17");
        Assert.True(forced.ExitCode == 3, forced.Output);
        Assert.Matches(@"THSGood\.cpp: .*C\+\+20 or later compatible compiler is required", forced.Output);

        var bad = Run("bash", $"{Script} --torchsharp {sources} --libtorch {torch} --out {dir}/bad --std c++2000");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--std must be a C++ standard the compiler knows, such as c++17 or c++20, got 'c++2000'", bad.Output);
    }

    /// <summary>
    /// A unit with one function that uses an API the headers no longer have, a compat folder whose entry replaces it,
    /// and the replacement; returns the compat folder. <paramref name="functions"/> is the entry's list.
    /// </summary>
    private string CompatCase(string torch, string functions)
    {
        string units = Path.Combine(dir, "TorchSharp", "src", "Native", "LibTorchSharp");
        File.WriteAllText(Path.Combine(units, "THSNamed.cpp"), """
            #include "../Stdafx.h"
            #include "torch/torch.h"

            // A declaration of the function is kept: only definitions are taken out.
            EXPORT_API(int) THSNamed_names(int dims);

            EXPORT_API(int) THSNamed_names(int dims)
            {
                if (dims > 0) {
                    const char* text = "}{";   // braces in a string do not end the definition
                    return torch::names_of(dims) + text[0];
                }
                return 0;
            }

            EXPORT_API(int) THSNamed_kept() { return torch_answer(); }
            """);
        string compat = Path.Combine(dir, "compat");
        Directory.CreateDirectory(compat);
        File.Copy(Path.Combine(RepositoryFiles.Root, "tools", "torchsharp-compat", "strip-functions.awk"), Path.Combine(compat, "strip-functions.awk"));
        File.WriteAllText(Path.Combine(compat, "compat.tsv"),
            "# unit\tprobe\tfunctions\treplacement\twhy\n" +
            $"THSNamed.cpp\tmissing torch/csrc/api/include/torch/torch.h names_of\t{functions}\tno_names.cpp\tthe stand-in libtorch dropped names_of\n");
        File.WriteAllText(Path.Combine(compat, "no_names.cpp"), "#include \"Stdafx.h\"\nEXPORT_API(int) THSNamed_names(int dims) { return -dims; }\n");
        return compat;
    }

    [Fact]
    public void A_compat_entry_replaces_the_functions_that_use_an_api_the_headers_no_longer_have()
    {
        Assert.True(HasCompiler, "g++ is not on PATH; the shim script needs it (Debian: apt-get install g++)");
        string torch = FakeLibTorch();
        string sources = Sources(withBrokenUnit: false);
        string compat = CompatCase(torch, "THSNamed_names");
        string output = Path.Combine(dir, "out");

        var run = Run("bash", $"{Script} --torchsharp {sources} --libtorch {torch} --out {output} --compat {compat}");

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("3 units and 1 replacement units", run.Output);
        Assert.Contains("compat THSNamed.cpp: 1 functions replaced by torchsharp-compat/no_names.cpp (the stand-in libtorch dropped names_of)", run.Output);
        Assert.Contains("ok     compat-no_names.cpp", run.Output);
        var symbols = Run("nm", $"-D --defined-only {Path.Combine(output, "libLibTorchSharp.so")}").Output;
        Assert.Contains("THSNamed_names", symbols);    // from the replacement
        Assert.Contains("THSNamed_kept", symbols);     // the rest of the unit, compiled from the stripped copy
        Assert.Contains("compat: THSNamed.cpp", File.ReadAllText(Path.Combine(output, "shim-build.txt")));

        // Headers that still have the API: the entry does not apply and the unit compiles as it is.
        string header = Path.Combine(torch, "include", "torch", "csrc", "api", "include", "torch", "torch.h");
        File.AppendAllText(header, "namespace torch { inline int names_of(int d) { return d; } }\n");
        var old = Run("bash", $"{Script} --torchsharp {sources} --libtorch {torch} --out {dir}/old --compat {compat}");
        Assert.True(old.ExitCode == 0, old.Output);
        Assert.DoesNotContain("compat THSNamed.cpp", old.Output);
        Assert.Contains("3 units, ", old.Output);
    }

    [Fact]
    public void A_compat_entry_that_no_longer_matches_the_sources_stops_the_build_naming_the_function()
    {
        Assert.True(HasCompiler, "g++ is not on PATH; the shim script needs it (Debian: apt-get install g++)");
        string torch = FakeLibTorch();
        string sources = Sources(withBrokenUnit: false);
        string compat = CompatCase(torch, "THSNamed_names,THSNamed_gone");

        var run = Run("bash", $"{Script} --torchsharp {sources} --libtorch {torch} --out {dir}/out --compat {compat}");

        Assert.True(run.ExitCode == 3, run.Output);
        Assert.Contains("taking the changed functions out of THSNamed.cpp failed", run.Output);
        Assert.Contains("THSNamed_gone was found 0 times (expected once)", run.Output);
    }

    [Fact]
    public void Stripping_keeps_every_other_line_in_place_and_leaves_declarations()
    {
        string source = Path.Combine(dir, "unit.cpp");
        File.WriteAllText(source, "int a(int x);\nint a(int x)\n{\n    if (x) { return '}'; }\n    return 1; // }\n}\nint b() { return 2; }\n");
        var stripped = Run("awk", $"-v names=a -f {Path.Combine(RepositoryFiles.Root, "tools", "torchsharp-compat", "strip-functions.awk")} {source}");
        Assert.True(stripped.ExitCode == 0, stripped.Output);
        Assert.StartsWith("int a(int x);\n\n\n\n\n\nint b() { return 2; }\n", stripped.Output.Replace("stripped a\n", ""));
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
