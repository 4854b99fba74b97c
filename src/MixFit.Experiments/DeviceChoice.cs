using MixFit.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Experiments;

/// <summary>Where a job runs: <c>auto</c> (CUDA when available, else the CPU), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>. Parsed once, resolved when the job starts.</summary>
public sealed record DeviceChoice
{
    private DeviceChoice(string name) => Name = name;

    /// <summary>CUDA when available, else the CPU.</summary>
    public static DeviceChoice Auto { get; } = new("auto");

    /// <summary>The name as given (<c>auto</c>, <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>).</summary>
    public string Name { get; }

    /// <summary>Parses a device name.</summary>
    /// <exception cref="ArgumentException">Not one of the valid names.</exception>
    public static DeviceChoice Parse(string name)
    {
        string key = (name ?? "").Trim().ToLowerInvariant();
        bool valid = key is "auto" or "cpu" or "cuda" || (key.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(key[5..], out int index) && index >= 0);
        return valid ? new DeviceChoice(key) : throw new ArgumentException($"Unknown device \"{name}\". Valid devices: auto, cpu, cuda, cuda:N.", nameof(name));
    }

    /// <summary>The TorchSharp device, explaining how to get CUDA when it is missing.</summary>
    /// <exception cref="NotSupportedException">CUDA was asked for but is not available.</exception>
    public Device Resolve()
    {
        TorchRuntime.EnsureLoaded();
        if (Name == "auto")
        {
            return TorchRuntime.DefaultDevice;
        }

        if (Name == "cpu")
        {
            return CPU;
        }

        if (!cuda.is_available())
        {
            throw new NotSupportedException(
                "CUDA is not available: this build uses the CPU libtorch (or no NVIDIA driver is present). To train on an NVIDIA GPU, reference "
                + "TorchSharp-cuda-linux instead of TorchSharp-cpu / libtorch-cpu-linux-x64 (in this repository: dotnet build -p:MixFitTorchBackend=cuda) "
                + "and run on a machine with the NVIDIA driver.");
        }

        return torch.device(Name);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
