using MixFit.Optimizers;
using MixFit.Tests.Support;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Training;

public class SampleWeightTests
{
    private static Trainer Compiled(long seed)
    {
        var trainer = new Trainer(TinyProblems.Mlp(seed, dropout: 0), CPU);
        trainer.Compile(new CompileOptions { Optimizer = new OptimizerConfig { Name = "sgd", LearningRate = 0.05 }, Metrics = new[] { "accuracy", "precision", "recall", "auc" } });
        return trainer;
    }

    private static float[] Weights(Trainer trainer) =>
        trainer.Module.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    [Fact]
    public void Class_weights_train_exactly_as_the_sample_weights_they_stand_for()
    {
        var (x, y) = TinyProblems.FashionMnist(256);
        var classWeight = new Dictionary<int, double> { [0] = 3, [6] = 0.25 };
        var perSample = tensor(y.data<long>().ToArray().Select(label => (float)(classWeight.TryGetValue((int)label, out var w) ? w : 1)).ToArray());

        using var byClass = Compiled(3);
        var classHistory = byClass.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32, Verbose = 0, ClassWeight = classWeight });
        using var bySample = Compiled(3);
        var sampleHistory = bySample.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32, Verbose = 0, SampleWeight = perSample });
        using var unweighted = Compiled(3);
        var plainHistory = unweighted.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32, Verbose = 0 });

        Assert.Equal(Weights(bySample), Weights(byClass));
        Assert.Equal(sampleHistory["loss"], classHistory["loss"]);
        Assert.Equal(sampleHistory["auc"], classHistory["auc"]);
        Assert.NotEqual(Weights(unweighted), Weights(byClass));
    }

    [Fact]
    public void Evaluate_weights_metrics_by_weight_and_the_loss_by_batch_size()
    {
        var (x, y) = TinyProblems.FashionMnist(200);
        using var trainer = Compiled(5);
        trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 50, Verbose = 0 });

        // Zero weight on the second half: metrics are those of the first half; the loss is half of its loss (one batch).
        var half = cat(new[] { ones(100), zeros(100) });
        var weighted = trainer.Evaluate(x, y, batchSize: 200, verbose: 0, sampleWeight: half);
        var firstHalf = trainer.Evaluate(x.narrow(0, 0, 100), y.narrow(0, 0, 100), batchSize: 200, verbose: 0);
        foreach (var name in new[] { "accuracy", "precision", "recall", "auc" })
        {
            Assert.Equal(firstHalf[name], weighted[name], 5);
        }

        Assert.Equal(firstHalf["loss"] / 2, weighted["loss"], 5);
    }

    [Fact]
    public void Class_and_sample_weights_together_and_unknown_classes_are_refused()
    {
        var (x, y) = TinyProblems.FashionMnist(64);
        using var trainer = Compiled(1);
        var both = Assert.Throws<ArgumentException>(() => trainer.Fit(x, y, new FitOptions
        {
            Verbose = 0, ClassWeight = new Dictionary<int, double> { [1] = 2 }, SampleWeight = ones(64),
        }));
        Assert.Contains("ClassWeight and SampleWeight", both.Message);

        var unknown = Assert.Throws<ArgumentException>(() => trainer.Fit(x, y, new FitOptions { Verbose = 0, ClassWeight = new Dictionary<int, double> { [10] = 2 } }));
        Assert.Contains("class 10, but the model has 10 classes (expected keys 0..9)", unknown.Message);

        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(x, y, new FitOptions { Verbose = 0, ClassWeight = new Dictionary<int, double> { [1] = -1 } }));
        Assert.Contains("1 -> -1", negative.Message);

        var shape = Assert.Throws<ArgumentException>(() => trainer.Fit(x, y, new FitOptions { Verbose = 0, SampleWeight = ones(63) }));
        Assert.Contains("sample weights have shape [63]; expected [64]", shape.Message);
    }

    [Fact]
    public void Predict_probabilities_are_the_softmax_of_the_logits()
    {
        var (x, y) = TinyProblems.FashionMnist(40);
        using var trainer = Compiled(2);
        var logits = trainer.Predict(x, batchSize: 16);
        var probabilities = trainer.PredictProbabilities(x, batchSize: 16);
        Assert.Equal(new long[] { 40, 10 }, probabilities.shape);
        Assert.True(probabilities.allclose(logits.softmax(1), rtol: 1e-6, atol: 1e-7));
        Assert.True(probabilities.sum(1).allclose(ones(40), atol: 1e-5));
    }
}
