namespace MixFit.Native;

/// <summary>
/// The CPU instruction-set features that decide whether reduced precision pays off on this CPU.
/// </summary>
/// <remarks>
/// Without <c>avx512_bf16</c> or <c>amx_bf16</c>, bfloat16 compute on a CPU is emulated and slower than
/// float32; without <c>avx512_fp16</c>/<c>amx_fp16</c>, float16 compute is much slower still. Read from
/// <c>/proc/cpuinfo</c> on Linux and from .NET's hardware intrinsics elsewhere.
/// </remarks>
public sealed class CpuFeatures
{
    private readonly HashSet<string> flags;

    private CpuFeatures(string model, HashSet<string> flags)
    {
        Model = model;
        this.flags = flags;
    }

    /// <summary>The CPU model name, or <c>unknown</c>.</summary>
    public string Model { get; }

    /// <summary>AVX2 (256-bit SIMD).</summary>
    public bool Avx2 => Has("avx2");

    /// <summary>AVX-512 foundation.</summary>
    public bool Avx512 => Has("avx512f");

    /// <summary>AVX512-BF16: native bfloat16 dot products.</summary>
    public bool Avx512Bf16 => Has("avx512_bf16");

    /// <summary>AMX-BF16: bfloat16 matrix tiles (Sapphire Rapids and later).</summary>
    public bool AmxBf16 => Has("amx_bf16");

    /// <summary>AVX512-FP16: native float16 arithmetic.</summary>
    public bool Avx512Fp16 => Has("avx512_fp16");

    /// <summary>F16C: float16 &lt;-&gt; float32 conversion only (no float16 arithmetic).</summary>
    public bool F16C => Has("f16c");

    /// <summary>Whether bfloat16 compute has hardware support on this CPU.</summary>
    public bool NativeBFloat16 => Avx512Bf16 || AmxBf16;

    /// <summary>Whether float16 compute has hardware support on this CPU.</summary>
    public bool NativeFloat16 => Avx512Fp16 || Has("amx_fp16");

    /// <summary>Whether the CPU reports <paramref name="flag"/> (a <c>/proc/cpuinfo</c> flag name).</summary>
    public bool Has(string flag) => flags.Contains(flag);

    /// <summary>Reads the features of the current machine.</summary>
    public static CpuFeatures Detect()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (File.Exists(cpuinfo))
        {
            return Parse(File.ReadAllText(cpuinfo));
        }

        var set = new HashSet<string>(StringComparer.Ordinal);
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
        {
            set.Add("avx2");
        }

        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            set.Add("avx512f");
        }

        return new CpuFeatures("unknown", set);
    }

    /// <summary>Parses the text of <c>/proc/cpuinfo</c> (first processor's <c>model name</c> and <c>flags</c>).</summary>
    public static CpuFeatures Parse(string cpuinfo)
    {
        string model = "unknown";
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0)
            {
                continue;
            }

            string key = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            if (key == "model name" && model == "unknown")
            {
                model = value;
            }
            else if ((key == "flags" || key == "Features") && set.Count == 0)
            {
                set.UnionWith(value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
        }

        return new CpuFeatures(model, set);
    }
}
