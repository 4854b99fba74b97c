using MixFit.Applications;
using MixFit.Precision;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Training;

/// <summary>Keras' model.summary(), with each layer's dtype under the policy.</summary>
public class ModelSummaryTests
{
    [Fact]
    public void The_summary_lists_layers_shapes_counts_and_dtypes_under_a_mixed_policy()
    {
        manual_seed(1);
        var model = SmallCnn.Create();
        long parameters = model.parameters().Sum(p => p.numel());
        using var trainer = new Trainer(model, CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, ModuleOverrides = new Dictionary<string, DTypePolicy> { ["fc2"] = DTypePolicy.Float32 } });
        bool wasTraining = model.training;
        string summary = trainer.Summary(1, 1, 28, 28);
        var lines = summary.Split('\n', StringSplitOptions.TrimEntries);

        Assert.StartsWith("Model: \"", lines[0]);
        Assert.Contains("under mixed_float16 (compute float16, variables float32)", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("fc2 (Linear)", StringComparison.Ordinal) && l.Contains("[-1, 10]", StringComparison.Ordinal) && l.Contains("float32", StringComparison.Ordinal));
        var conv = Assert.Single(lines, l => l.StartsWith("conv1 (Conv2d)", StringComparison.Ordinal));
        Assert.Contains("[-1, 32, 28, 28]", conv);
        Assert.Contains("mixed_float16", conv);
        Assert.Contains("float16", conv.Split("mixed_float16")[1]);              // the working copy
        Assert.Contains(lines, l => l.StartsWith("bn1 (BatchNorm2d)", StringComparison.Ordinal) && l.EndsWith("float32", StringComparison.Ordinal));   // norms stay float32
        Assert.Contains($"Total params: {parameters:N0}", summary);
        Assert.Contains($"Trainable params: {parameters:N0}", summary);
        Assert.Contains("Non-trainable params: 0", summary);
        Assert.Contains("float32 master copies:", summary);
        Assert.Equal(wasTraining, model.training);
    }

    [Fact]
    public void A_frozen_base_shows_as_non_trainable_and_without_an_input_shape_the_shapes_are_unknown()
    {
        var model = TransferModel.Create(BackboneKind.ResNet18, classes: 3, baseTrainable: false);
        using var trainer = new Trainer(model, CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Float32, ModuleOverrides = model.PrecisionOverrides });
        string summary = trainer.Summary();
        long head = 512 * 3 + 3;
        long total = model.parameters().Sum(p => p.numel());
        Assert.Contains($"Trainable params: {head:N0}", summary);
        Assert.Contains($"Non-trainable params: {total - head:N0}", summary);
        Assert.Matches(@"head \(Linear\)\s+\?\s", summary);
        Assert.DoesNotContain("master copies", summary);
        Assert.Throws<InvalidOperationException>(() => new Trainer(SmallCnn.Create(), CPU).Summary());
    }
}
