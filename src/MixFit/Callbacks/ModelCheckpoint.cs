using System.Globalization;
using System.Text.RegularExpressions;
using MixFit.Training;

namespace MixFit.Callbacks;

/// <summary>
/// Saves the model at the end of every epoch, or only when the monitored quantity improves (Keras' defaults: monitor
/// <c>val_loss</c>, every epoch, full checkpoint). The path may hold placeholders: <c>{epoch}</c>, <c>{epoch:02d}</c>,
/// <c>{val_loss:.2f}</c>. Files are written atomically.
/// </summary>
/// <remarks>
/// A full checkpoint holds float32 weights, optimizer state, loss-scale state, the epoch and the RNG state
/// (<see cref="TrainerWeights.SaveCheckpoint"/>); weights-only writes safetensors or TorchSharp's format by extension.
/// Messages when verbose: <c>Epoch 3: val_loss improved from 0.41234 to 0.39876, saving model to PATH</c>,
/// <c>Epoch 4: val_loss did not improve from 0.39876</c>.
/// </remarks>
public sealed partial class ModelCheckpoint : Callback
{
    private readonly Monitor monitor;
    private readonly TextWriter? output;

    /// <summary>Creates the callback.</summary>
    public ModelCheckpoint(
        string filePath, string monitor = "val_loss", MonitorMode mode = MonitorMode.Auto, bool saveBestOnly = false, bool saveWeightsOnly = false,
        int verbose = 0, TextWriter? output = null)
    {
        FilePath = filePath ?? throw new ArgumentNullException(nameof(filePath));
        this.monitor = new Monitor(monitor, mode, 0);
        SaveBestOnly = saveBestOnly;
        SaveWeightsOnly = saveWeightsOnly;
        Verbose = verbose;
        this.output = output;
        Best = this.monitor.Worst;
    }

    /// <summary>The path pattern.</summary>
    public string FilePath { get; }

    /// <summary>Whether only improvements are saved.</summary>
    public bool SaveBestOnly { get; }

    /// <summary>Whether only weights are saved.</summary>
    public bool SaveWeightsOnly { get; }

    /// <summary>1 prints messages.</summary>
    public int Verbose { get; }

    /// <summary>The best monitored value so far.</summary>
    public double Best { get; private set; }

    /// <summary>The paths written, in order.</summary>
    public List<string> Saved { get; } = new();

    /// <summary>Fills <c>{epoch}</c>, <c>{epoch:02d}</c> and <c>{name:.Nf}</c> placeholders (epoch is 1-based, as in Keras).</summary>
    public static string FormatPath(string pattern, int epoch, IReadOnlyDictionary<string, double> logs) =>
        Placeholder().Replace(pattern, match =>
        {
            string name = match.Groups["name"].Value;
            string spec = match.Groups["spec"].Value;
            if (name == "epoch")
            {
                int width = spec.EndsWith('d') && int.TryParse(spec[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out int w) ? w : 0;
                return (epoch + 1).ToString(CultureInfo.InvariantCulture).PadLeft(width, '0');
            }

            if (!logs.TryGetValue(name, out double value))
            {
                throw new KeyNotFoundException($"The checkpoint path \"{pattern}\" uses {{{name}}}, which is not in the logs ({string.Join(", ", logs.Keys)}).");
            }

            return spec.StartsWith('.') && spec.EndsWith('f') && int.TryParse(spec[1..^1], out int digits)
                ? value.ToString("F" + digits, CultureInfo.InvariantCulture)
                : value.ToString("R", CultureInfo.InvariantCulture);
        });

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        string path = FormatPath(FilePath, epoch, logs);
        if (SaveBestOnly)
        {
            if (!logs.TryGetValue(monitor.Name, out double current))
            {
                Output.WriteLine($"Can save best model only with {monitor.Name} available, skipping.");
                return;
            }

            if (!monitor.IsImprovement(current, Best))
            {
                if (Verbose > 0)
                {
                    Output.WriteLine($"Epoch {epoch + 1}: {monitor.Name} did not improve from {PythonFloat5(Best)}");
                }

                return;
            }

            if (Verbose > 0)
            {
                Output.WriteLine(
                    $"Epoch {epoch + 1}: {monitor.Name} improved from {PythonFloat5(Best)} to {current.ToString("F5", CultureInfo.InvariantCulture)}, saving model to {path}");
            }

            Best = current;
        }
        else if (Verbose > 0)
        {
            Output.WriteLine($"Epoch {epoch + 1}: saving model to {path}");
        }

        if (SaveWeightsOnly)
        {
            Context.Trainer.SaveWeights(path);
        }
        else
        {
            Context.Trainer.SaveCheckpoint(path, epoch);
        }

        Saved.Add(path);
    }

    private static string PythonFloat5(double value) => double.IsInfinity(value) ? (value > 0 ? "inf" : "-inf") : value.ToString("F5", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?<spec>[^}]*))?\}")]
    private static partial Regex Placeholder();

    private TextWriter Output => output ?? Console.Out;
}
