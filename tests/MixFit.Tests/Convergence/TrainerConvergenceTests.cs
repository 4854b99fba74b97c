using MixFit.Applications;
using MixFit.Data;
using MixFit.Precision;
using MixFit.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MixFit.Tests.Convergence;

/// <summary>Fit reaches Keras-like accuracy on real data: the small CNN, two epochs on the 6,000 embedded images.</summary>
[Trait("Category", "Slow")]
public class TrainerConvergenceTests
{
    private readonly ITestOutputHelper output;

    public TrainerConvergenceTests(ITestOutputHelper output) => this.output = output;

    [Theory]
    [InlineData("float32")]
    [InlineData("mixed_bfloat16")]
    public void Two_epochs_of_fit_reach_80_percent_test_accuracy(string policy)
    {
        var (x, y) = FashionMnist.LoadEmbedded(FashionMnistSplit.Train).ToTensors();
        var (testX, testY) = FashionMnist.LoadEmbedded(FashionMnistSplit.Test).ToTensors();
        Session.Clear(seed: 7);
        using var trainer = new Trainer(SmallCnn.Create(), CPU);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.Parse(policy), Metrics = new[] { "accuracy" } });
        var log = new StringWriter();
        var history = trainer.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 128, ValidationSplit = 0.1, Output = log });
        var result = trainer.Evaluate(testX, testY, batchSize: 250, verbose: 0);
        output.WriteLine(log.ToString());
        output.WriteLine($"{policy}: test loss {result["loss"]:F4}, test accuracy {result["accuracy"]:F4}");
        Assert.True(result["accuracy"] >= 0.80, $"{policy}: test accuracy {result["accuracy"]:F4} < 0.80");
        Assert.True(history["loss"][1] < history["loss"][0]);
    }
}
