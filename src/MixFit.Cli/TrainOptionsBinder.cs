using System.CommandLine;
using MixFit.Applications;
using MixFit.Experiments;
using MixFit.Optimizers;
using MixFit.Precision;

namespace MixFit.Cli;

/// <summary>
/// The options shared by <c>train</c> and <c>compare</c>, parsed once into the typed <see cref="TrainJobOptions"/>;
/// every default comes from <see cref="TrainJobOptions"/> itself.
/// </summary>
internal sealed class TrainOptionsBinder
{
    private static readonly TrainJobOptions Defaults = new();

    public TrainOptionsBinder(bool withPolicy)
    {
        Policy = withPolicy
            ? TypedOption.Create("--policy", $"{string.Join(", ", DTypePolicy.All.Select(p => p.Name))}.", DTypePolicy.Parse, Defaults.Policy.Name)
            : null;
    }

    public Option<string> Data { get; } = TypedOption.Plain("--data", "fashion-mnist, or a folder with train.csv (image,category) and images/.", Defaults.Data);

    public Option<string?> LabelMap { get; } = new("--label-map") { Description = "JSON label map (category id to name) for folder data." };

    public Option<ModelDescriptor?> Model { get; } = TypedOption.Create(
        "--model", $"{string.Join(", ", ModelDescriptor.Names)}.", ModelDescriptor.Parse, Defaults.Model.Name);

    public Option<string?> Weights { get; } = new("--weights") { Description = "Pretrained weights: a file (safetensors, .pt/.pth or a MixFit checkpoint), or imagenet for resnet18 (ML.NET's ImageNet ResNet18 from NuGet; 224x224)." };

    public Option<bool> FreezeBase { get; } = new("--freeze-base") { Description = "Freeze the backbone and train only the head." };

    public Option<bool> TrainBase { get; } = new("--train-base") { Description = "Train the whole backbone (the default)." };

    public Option<DTypePolicy?>? Policy { get; }

    public Option<LossScaleOptions?> LossScale { get; } = TypedOption.Create(
        "--loss-scale", "dynamic, none or a fixed scale.", LossScaleOptions.Parse, "dynamic for mixed_float16, none otherwise");

    public Option<int> Epochs { get; } = TypedOption.Plain("--epochs", "Epochs.", Defaults.Epochs);

    public Option<int> BatchSize { get; } = TypedOption.Plain("--batch-size", "Batch size.", Defaults.BatchSize);

    public Option<double> LearningRate { get; } = TypedOption.Plain("--lr", "Learning rate.", Defaults.Optimizer.LearningRate);

    public Option<string?> Optimizer { get; } = TypedOption.Create(
        "--optimizer", $"{string.Join(", ", OptimizerConfig.Names)}.", ParseOptimizerName, Defaults.Optimizer.Name);

    public Option<int?> ImageSize { get; } = new("--image-size") { Description = "Input size in pixels. Default: the model's (28 for small-cnn, 64 for backbones)." };

    public Option<double> ValidationSplit { get; } = TypedOption.Plain("--val-split", "Fraction held out for validation.", Defaults.ValidationSplit);

    public Option<int> Seed { get; } = TypedOption.Plain("--seed", "Random seed.", Defaults.Seed);

    public Option<DeviceChoice?> Device { get; } = TypedOption.Create("--device", "auto, cpu, cuda or cuda:N.", DeviceChoice.Parse, Defaults.Device.Name);

    public Option<string?> Store { get; } = RunsCommand.StoreOption();

    public Option<string[]?> Metrics { get; } = TypedOption.Create(
        "--metrics", $"Metrics beside the loss, comma-separated: {string.Join(", ", MixFit.Metrics.Metric.Names)}.", ParseMetrics, string.Join(",", Defaults.Metrics));

    public Option<ClassWeights?> ClassWeight { get; } = TypedOption.Create(
        "--class-weight", "balanced, or class=weight pairs such as 0=1,6=2.5 (class indices; others weigh 1).", ClassWeights.Parse, "none");

    public Option<int?> Limit { get; } = new("--limit") { Description = "Use only the first N training images (quick runs); Fashion-MNIST's test set is then cut to N/6 images, at least 100." };

    public Option<int> Verbose { get; } = TypedOption.Plain("--verbose", "0 silent, 1 progress bar, 2 one line per epoch.", Defaults.Verbose);

    public void AddTo(Command command)
    {
        foreach (var option in new Option?[] { Data, LabelMap, Model, Weights, FreezeBase, TrainBase, Policy, LossScale, Epochs, BatchSize, LearningRate, Optimizer, ImageSize, ValidationSplit, Seed, Device, Store, Limit, Verbose, Metrics, ClassWeight })
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

        return Defaults with
        {
            Data = parse.GetValue(Data)!,
            LabelMap = parse.GetValue(LabelMap),
            Model = parse.GetValue(Model) ?? Defaults.Model,
            Weights = parse.GetValue(Weights),
            FreezeBase = parse.GetValue(FreezeBase),
            Policy = (Policy is null ? null : parse.GetValue(Policy)) ?? Defaults.Policy,
            LossScale = parse.GetValue(LossScale),
            Epochs = parse.GetValue(Epochs),
            BatchSize = parse.GetValue(BatchSize),
            Optimizer = Defaults.Optimizer with { Name = parse.GetValue(Optimizer) ?? Defaults.Optimizer.Name, LearningRate = parse.GetValue(LearningRate) },
            ImageSize = parse.GetValue(ImageSize),
            ValidationSplit = parse.GetValue(ValidationSplit),
            Seed = parse.GetValue(Seed),
            Device = parse.GetValue(Device) ?? Defaults.Device,
            Store = parse.GetValue(Store),
            Limit = parse.GetValue(Limit),
            Verbose = parse.GetValue(Verbose),
            Metrics = parse.GetValue(Metrics) is { Length: > 0 } metrics ? metrics : Defaults.Metrics,
            ClassWeight = parse.GetValue(ClassWeight),
        };
    }

    private static string[] ParseMetrics(string text)
    {
        var names = text.Split(',', StringSplitOptions.TrimEntries).Select(n => n.ToLowerInvariant()).ToArray();
        if (names.Any(n => n.Length == 0))
        {
            throw new ArgumentException($"\"{text}\" has an empty metric name; separate names with single commas, e.g. accuracy,auc.");
        }

        foreach (var name in names)
        {
            if (!MixFit.Metrics.Metric.Names.Contains(name))
            {
                throw new ArgumentException($"unknown metric \"{name}\". Valid metrics: {string.Join(", ", MixFit.Metrics.Metric.Names)}.");
            }
        }

        if (names.Distinct().Count() != names.Length)
        {
            throw new ArgumentException($"\"{text}\" names a metric twice.");
        }

        return names;
    }

    private static string ParseOptimizerName(string name)
    {
        string key = name.Trim().ToLowerInvariant();
        return OptimizerConfig.Names.Contains(key)
            ? key
            : throw new ArgumentException($"Unknown optimizer \"{name}\". Valid optimizers: {string.Join(", ", OptimizerConfig.Names)}.");
    }
}
