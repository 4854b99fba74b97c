using MixFit.Native;

namespace MixFit.Tests.Native;

public class CpuFeaturesTests
{
    private const string SapphireRapids = """
        processor	: 0
        vendor_id	: GenuineIntel
        model name	: Intel(R) Xeon(R) Platinum 8480+
        flags		: fpu sse2 avx avx2 f16c avx512f avx512_bf16 amx_bf16 amx_tile avx512_fp16

        processor	: 1
        model name	: ignored second processor
        flags		: fpu
        """;

    private const string IceLake = """
        processor	: 0
        model name	: Intel Xeon Processor (Icelake)
        flags		: fpu sse2 avx avx2 f16c avx512f avx512bw avx512vl
        """;

    [Fact]
    public void Parses_the_first_processor_model_and_precision_flags()
    {
        var cpu = CpuFeatures.Parse(SapphireRapids);
        Assert.Equal("Intel(R) Xeon(R) Platinum 8480+", cpu.Model);
        Assert.True(cpu.Avx2 && cpu.Avx512 && cpu.Avx512Bf16 && cpu.AmxBf16 && cpu.F16C && cpu.Avx512Fp16);
        Assert.True(cpu.NativeBFloat16);
        Assert.True(cpu.NativeFloat16);
    }

    [Fact]
    public void A_cpu_without_bf16_units_has_no_native_half_precision()
    {
        var cpu = CpuFeatures.Parse(IceLake);
        Assert.True(cpu.Avx512);
        Assert.False(cpu.Avx512Bf16);
        Assert.False(cpu.NativeBFloat16);
        Assert.False(cpu.NativeFloat16);
        Assert.True(cpu.F16C);
    }

    [Fact]
    public void Detect_reads_this_machine()
    {
        var cpu = CpuFeatures.Detect();
        Assert.NotEmpty(cpu.Model);
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx2.IsSupported, cpu.Avx2);
    }
}
