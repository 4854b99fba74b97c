using System.Diagnostics;
using MixFit.Applications;
using MixFit.Data;
using MixFit.Optimizers;
using MixFit.Precision;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MixFit.Tests.Convergence;

/// <summary>
/// Mixed precision must train as well as float32 on real data: the small CNN, one epoch over the 6,000 embedded
/// Fashion-MNIST training images, evaluated on the 1,000 embedded test images. Slow on CPUs (float16 compute is
/// emulated), so it runs in CI's second step.
/// </summary>
[Trait("Category", "Slow")]
public class SmallCnnConvergenceTests
{
    private const int BatchSize = 128;
    private readonly ITestOutputHelper output;

    public SmallCnnConvergenceTests(ITestOutputHelper output) => this.output = output;

    private sealed record Result(double MeanLoss, double TestAccuracy, long Skipped, double Seconds);

    private static Result TrainOneEpoch(DTypePolicy policy, Dictionary<string, Tensor> initial, Tensor x, Tensor y, Tensor testX, Tensor testY)
    {
        var watch = Stopwatch.StartNew();
        var model = SmallCnn.Create();
        model.load_state_dict(initial);
        using var precision = PrecisionStrategy.Create(policy);
        var parameters = precision.Prepare(model, CPU);
        using var adam = new Adam(parameters, 1e-3);

        var generator = new Generator(42);
        var order = randperm(x.shape[0], generator: generator);
        double lossSum = 0;
        int batches = 0;
        model.train();
        for (long start = 0; start < x.shape[0]; start += BatchSize)
        {
            using var scope = NewDisposeScope();
            var idx = order.narrow(0, start, Math.Min(BatchSize, x.shape[0] - start));
            var logits = precision.ConvertOutput(model.call(precision.ConvertInput(x.index_select(0, idx))));
            var loss = F.cross_entropy(logits, y.index_select(0, idx));
            lossSum += loss.item<float>();
            batches++;
            precision.Backward(loss);
            precision.Step(adam);
        }

        model.eval();
        long correct = 0;
        using (no_grad())
        {
            for (long start = 0; start < testX.shape[0]; start += 250)
            {
                using var scope = NewDisposeScope();
                var logits = precision.ConvertOutput(model.call(precision.ConvertInput(testX.narrow(0, start, 250))));
                correct += logits.argmax(1).eq(testY.narrow(0, start, 250)).sum().item<long>();
            }
        }

        return new Result(lossSum / batches, 100.0 * correct / testX.shape[0], precision.Scaler.GetSkippedSteps(), watch.Elapsed.TotalSeconds);
    }

    [Fact]
    public void Mixed_policies_match_float32_loss_within_5_percent_and_accuracy_within_1_5_points()
    {
        var (x, y) = FashionMnist.LoadEmbedded(FashionMnistSplit.Train).ToTensors();
        var (testX, testY) = FashionMnist.LoadEmbedded(FashionMnistSplit.Test).ToTensors();
        manual_seed(2024);
        var initial = SmallCnn.Create().state_dict();

        var baseline = TrainOneEpoch(DTypePolicy.Float32, initial, x, y, testX, testY);
        output.WriteLine($"float32: loss {baseline.MeanLoss:F4}, accuracy {baseline.TestAccuracy:F1}%, {baseline.Seconds:F1}s");
        Assert.InRange(baseline.TestAccuracy, 70, 100);

        foreach (var policy in new[] { DTypePolicy.MixedBFloat16, DTypePolicy.MixedFloat16 })
        {
            var result = TrainOneEpoch(policy, initial, x, y, testX, testY);
            output.WriteLine($"{policy.Name}: loss {result.MeanLoss:F4}, accuracy {result.TestAccuracy:F1}%, skipped {result.Skipped}, {result.Seconds:F1}s");
            double relative = Math.Abs(result.MeanLoss - baseline.MeanLoss) / baseline.MeanLoss;
            Assert.True(relative <= 0.05, $"{policy.Name}: mean loss {result.MeanLoss:F4} vs float32 {baseline.MeanLoss:F4} ({relative:P1} apart)");
            Assert.True(
                Math.Abs(result.TestAccuracy - baseline.TestAccuracy) <= 1.5,
                $"{policy.Name}: accuracy {result.TestAccuracy:F1}% vs float32 {baseline.TestAccuracy:F1}%");
        }
    }
}
