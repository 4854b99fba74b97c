namespace MixFit.Data;

/// <summary>
/// Seeds derived from (seed, epoch, index) that are the same in every process and on every machine, unlike
/// <see cref="HashCode.Combine{T1, T2, T3}"/>, which .NET randomises per process: same seed, same data order and
/// same augmentation, so two runs (or a run and its resume) are bit-identical.
/// </summary>
internal static class StableSeed
{
    /// <summary>A 32-bit seed mixed from the three values with SplitMix64's finaliser.</summary>
    public static int Mix(int seed, int epoch, int index)
    {
        ulong z = unchecked(((ulong)(uint)seed << 32) ^ ((ulong)(uint)epoch * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)index * 0xC2B2AE3D27D4EB4FUL));
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return unchecked((int)(z ^ (z >> 32)));
    }
}
