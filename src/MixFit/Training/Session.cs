using MixFit.Precision;
using TorchSharp;

namespace MixFit.Training;

/// <summary>Process-wide state resets for tests and notebooks (Keras' <c>clear_session</c> and <c>set_random_seed</c>).</summary>
public static class Session
{
    /// <summary>Restores the global policy to float32 and, when given, seeds every random generator.</summary>
    public static void Clear(long? seed = null)
    {
        DTypePolicy.SetGlobal(DTypePolicy.Float32);
        if (seed is { } s)
        {
            SetRandomSeed(s);
        }
    }

    /// <summary>Seeds libtorch's CPU and CUDA generators: same seed, same initial weights and dropout masks.</summary>
    public static void SetRandomSeed(long seed)
    {
        torch.manual_seed(seed);
        if (torch.cuda.is_available())
        {
            torch.cuda.manual_seed_all(seed);
        }
    }
}
