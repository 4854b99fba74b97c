using System.Globalization;

namespace MixFit.Bench;

/// <summary>Command-line options of the benchmark.</summary>
internal sealed record BenchOptions(int Steps, int HalfSteps, int Warmup, int FitRounds, IReadOnlySet<string> Models, string? Json = null, string? Profile = null, string? Profiler = null)
{
    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions(20, 10, 3, 10, new HashSet<string> { "small-cnn", "resnet18", "fit", "data", "tracking", "transfer" });
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Count(string name)
            {
                string text = Value();
                return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0
                    ? n
                    : throw new ArgumentException($"{name} expects a positive integer, got \"{text}\".");
            }

            options = args[i] switch
            {
                "--steps" => options with { Steps = Count("--steps") },
                "--half-steps" => options with { HalfSteps = Count("--half-steps") },
                "--warmup" => options with { Warmup = Count("--warmup") },
                "--fit-rounds" => options with { FitRounds = Count("--fit-rounds") },
                "--json" => options with { Json = Value() },
                "--profile" => options with { Profile = Value() },
                "--profiler" => options with { Profiler = Value() },
                "--models" => options with { Models = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet() },
                _ => throw new ArgumentException($"Unknown option \"{args[i]}\". Options: --steps N, --half-steps N, --warmup N, --fit-rounds N, --models small-cnn,resnet18,fit,data,tracking,transfer,peers, --json FILE (peers), --profile DIR --profiler LIB (peers under libtorch's op profiler, bench/peers/profile.sh)."),
            };
        }

        return options;
    }
}
