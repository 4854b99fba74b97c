namespace MixFit.Native;

/// <summary>A CUDA device as its driver describes it.</summary>
/// <param name="Index">The device index (<c>cuda:N</c>).</param>
/// <param name="Name">The product name, e.g. <c>NVIDIA H200</c>.</param>
/// <param name="ComputeCapabilityMajor">Compute capability, major (9 for Hopper).</param>
/// <param name="ComputeCapabilityMinor">Compute capability, minor.</param>
/// <param name="TotalMemoryBytes">Device memory, in bytes.</param>
public sealed record CudaDevice(int Index, string Name, int ComputeCapabilityMajor, int ComputeCapabilityMinor, long TotalMemoryBytes)
{
    /// <summary>The compute capability as <c>major.minor</c>, e.g. <c>9.0</c>.</summary>
    public string ComputeCapability => $"{ComputeCapabilityMajor}.{ComputeCapabilityMinor}";

    /// <summary>
    /// The half-precision dtypes this device's Tensor Cores multiply: <c>float16</c> from Volta (7.0),
    /// <c>bfloat16</c> (and TF32) from Ampere (8.0). Older devices compute half precision without Tensor Cores,
    /// where mixed precision saves memory but rarely time.
    /// </summary>
    public IReadOnlyList<string> TensorCoreDTypes
    {
        get
        {
            var dtypes = new List<string>();
            if (ComputeCapabilityMajor >= 7)
            {
                dtypes.Add("float16");
            }

            if (ComputeCapabilityMajor >= 8)
            {
                dtypes.Add("bfloat16");
            }

            return dtypes;
        }
    }
}
