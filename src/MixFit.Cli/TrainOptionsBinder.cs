using System.CommandLine;
using System.Globalization;
using MixFit.Experiments;

namespace MixFit.Cli;

/// <summary>The options shared by <c>train</c> and <c>compare</c>, bound to <see cref="TrainJobOptions"/>.</summary>
internal sealed class TrainOptionsBinder
{
    private readonly TrainJobOptions defaults;

    public TrainOptionsBinder(TrainJobOptions defaults, bool withPolicy)
    {
        this.defaults = defaults;
        Policy = withPolicy ? new Option<string>("--policy") { Description = "float32, float64, float16, bfloat16, mixed_float16 or mixed_bfloat16.", DefaultValueFactory = _ => defaults.Policy } : null;
    }

    public Option<string> Data { get; } = new("--data") { Description = "fashion-mnist, or a folder with train.csv (image,category) and images/.", DefaultValueFactory = _ => "fashion-mnist" };

    public Option<string?> LabelMap { get; } = new("--label-map") { Description = "JSON label map (category id to name) for folder data." };

    public Option<string> Model { get; } = new("--model") { Description = "small-cnn, resnet18, resnet50 or mobilenet_v2.", DefaultValueFactory = _ => "small-cnn" };

    public Option<string?> Weights { get; } = new("--weights") { Description = "Pretrained weights (safetensors, .pt/.pth or a MixFit checkpoint)." };

    public Option<bool> FreezeBase { get; } = new("--freeze-base") { Description = "Freeze the backbone and train only the head." };

    public Option<bool> TrainBase { get; } = new("--train-base") { Description = "Train the whole backbone (the default)." };

    public Option<string>? Policy { get; }

    public Option<string?> LossScale { get; } = new("--loss-scale") { Description = "dynamic, none or a fixed scale (default: dynamic for mixed_float16, none otherwise)." };

    public Option<int> Epochs { get; } = new("--epochs") { Description = "Epochs.", DefaultValueFactory = _ => 3 };

    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Batch size.", DefaultValueFactory = _ => 128 };

    public Option<double> LearningRate { get; } = new("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 1e-3 };

    public Option<string> Optimizer { get; } = new("--optimizer") { Description = "adam, adamw, sgd or rmsprop.", DefaultValueFactory = _ => "adam" };

    public Option<int?> ImageSize { get; } = new("--image-size") { Description = "Input size in pixels (default: 28 for small-cnn, 64 for backbones)." };

    public Option<double> ValidationSplit { get; } = new("--val-split") { Description = "Fraction held out for validation.", DefaultValueFactory = _ => 0.1 };

    public Option<int> Seed { get; } = new("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };

    public Option<string> Device { get; } = new("--device") { Description = "auto, cpu or cuda.", DefaultValueFactory = _ => "auto" };

    public Option<string?> Store { get; } = RunsCommand.StoreOption();

    public Option<int?> Limit { get; } = new("--limit") { Description = "Use only the first N training images (quick runs)." };

    public Option<int> Verbose { get; } = new("--verbose") { Description = "0 silent, 1 progress bar, 2 one line per epoch.", DefaultValueFactory = _ => 1 };

    public void AddTo(Command command)
    {
        foreach (var option in new Option?[] { Data, LabelMap, Model, Weights, FreezeBase, TrainBase, Policy, LossScale, Epochs, BatchSize, LearningRate, Optimizer, ImageSize, ValidationSplit, Seed, Device, Store, Limit, Verbose })
        {
            if (option is not null)
            {
                command.Options.Add(option);
            }
        }
    }

    public TrainJobOptions Bind(ParseResult parse)
    {
        if (parse.GetValue(FreezeBase) && parse.GetValue(TrainBase))
        {
            throw new ArgumentException("--freeze-base and --train-base contradict each other; give one.");
        }

        return defaults with
        {
            Data = parse.GetValue(Data)!,
            LabelMap = parse.GetValue(LabelMap),
            Model = parse.GetValue(Model)!,
            Weights = parse.GetValue(Weights),
            FreezeBase = parse.GetValue(FreezeBase),
            Policy = Policy is null ? defaults.Policy : parse.GetValue(Policy)!,
            LossScale = parse.GetValue(LossScale),
            Epochs = parse.GetValue(Epochs),
            BatchSize = parse.GetValue(BatchSize),
            LearningRate = parse.GetValue(LearningRate),
            Optimizer = parse.GetValue(Optimizer)!,
            ImageSize = parse.GetValue(ImageSize),
            ValidationSplit = parse.GetValue(ValidationSplit),
            Seed = parse.GetValue(Seed),
            Device = parse.GetValue(Device)!,
            Store = parse.GetValue(Store),
            Limit = parse.GetValue(Limit),
            Verbose = parse.GetValue(Verbose),
        };
    }

    public static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);
}
