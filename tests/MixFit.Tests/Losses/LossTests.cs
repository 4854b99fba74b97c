using MixFit.Losses;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MixFit.Tests.Losses;

public class LossTests
{
    private static readonly Tensor Logits = tensor(new float[] { 2, 0.5f, -1, 0.1f, 0.2f, 3 }).reshape(2, 3);
    private static readonly Tensor Labels = tensor(new long[] { 0, 2 });

    [Fact]
    public void Sparse_cross_entropy_from_logits_matches_torch()
    {
        float expected = F.cross_entropy(Logits, Labels).item<float>();
        Assert.Equal(expected, new SparseCategoricalCrossentropy().Compute(Logits, Labels).item<float>(), 5);
    }

    [Fact]
    public void Sparse_cross_entropy_from_probabilities_equals_the_logits_form()
    {
        float fromLogits = new SparseCategoricalCrossentropy().Compute(Logits, Labels).item<float>();
        float fromProbabilities = new SparseCategoricalCrossentropy(fromLogits: false).Compute(Logits.softmax(1), Labels).item<float>();
        Assert.Equal(fromLogits, fromProbabilities, 4);
    }

    [Fact]
    public void Label_smoothing_matches_torch_cross_entropy_with_smoothing()
    {
        float expected = F.cross_entropy(Logits, Labels, label_smoothing: 0.1).item<float>();
        Assert.Equal(expected, new SparseCategoricalCrossentropy(labelSmoothing: 0.1).Compute(Logits, Labels).item<float>(), 5);
        var oneHot = F.one_hot(Labels, 3).to(ScalarType.Float32);
        Assert.Equal(expected, new CategoricalCrossentropy(labelSmoothing: 0.1).Compute(Logits, oneHot).item<float>(), 5);
    }

    [Fact]
    public void Binary_cross_entropy_refuses_half_precision_probabilities()
    {
        var p = tensor(new float[] { 0.9f, 0.2f }).to(ScalarType.Float16);
        var e = Assert.Throws<ArgumentException>(() => new BinaryCrossentropy(fromLogits: false).Compute(p, tensor(new float[] { 1, 0 })));
        Assert.Contains("logits", e.Message);
    }

    [Fact]
    public void Binary_cross_entropy_matches_the_formula_from_logits_and_from_probabilities()
    {
        // -mean(y log p + (1 - y) log(1 - p)), written out in double precision: logits 2.2 (label 1) and -1.4 (label 0).
        static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
        double fromLogits = -(Math.Log(Sigmoid(2.2)) + Math.Log(1 - Sigmoid(-1.4))) / 2;
        var y = tensor(new float[] { 1, 0 });
        Assert.Equal(fromLogits, new BinaryCrossentropy().Compute(tensor(new float[] { 2.2f, -1.4f }), y).item<float>(), 5);

        double fromProbabilities = -(Math.Log(0.9) + Math.Log(1 - 0.2)) / 2;
        Assert.Equal(fromProbabilities, new BinaryCrossentropy(fromLogits: false).Compute(tensor(new float[] { 0.9f, 0.2f }), y).item<float>(), 5);
    }

    [Fact]
    public void Regression_losses_are_mean_squared_and_mean_absolute_errors()
    {
        var output = tensor(new float[] { 1, 2, 4 });
        var target = tensor(new float[] { 1, 4, 1 });
        Assert.Equal((0 + 4 + 9) / 3f, Loss.FromName("mse").Compute(output, target).item<float>(), 6);
        Assert.Equal((0 + 2 + 3) / 3f, Loss.FromName("mean_absolute_error").Compute(output, target).item<float>(), 6);
    }

    [Fact]
    public void Losses_compute_in_float32_from_half_precision_outputs()
    {
        var half = Logits.to(ScalarType.BFloat16);
        var loss = new SparseCategoricalCrossentropy().Compute(half, Labels);
        Assert.Equal(ScalarType.Float32, loss.dtype);
    }

    [Fact]
    public void Sample_weights_reduce_as_keras_sum_over_batch_size()
    {
        // Each sample's two squared errors average: (0+0)/2, (0+16)/2, (9+9)/2.
        var output = tensor(new float[] { 1, 1, 2, 2, 4, 4 }).reshape(3, 2);
        var target = tensor(new float[] { 1, 1, 2, 6, 1, 1 }).reshape(3, 2);
        var perSample = Loss.FromName("mse").PerSample(output, target).data<float>().ToArray();
        Assert.Equal(new[] { 0f, 8f, 9f }, perSample);

        // Weighted sum over the batch size, not over the weights' sum: (1*0 + 2*8 + 0.5*9) / 3.
        var weights = tensor(new float[] { 1, 2, 0.5f });
        Assert.Equal((16 + 4.5) / 3, Loss.FromName("mse").Compute(output, target, weights).item<float>(), 5);

        // A weight of 2 is the sample counted twice in the numerator.
        var logits = Logits;
        var doubled = new SparseCategoricalCrossentropy().Compute(logits, Labels, full(logits.shape[0], 2f));
        Assert.Equal(2 * new SparseCategoricalCrossentropy().Compute(logits, Labels).item<float>(), doubled.item<float>(), 5);
    }

    [Fact]
    public void Sample_weights_of_the_wrong_shape_are_refused_with_both_shapes()
    {
        var error = Assert.Throws<ArgumentException>(() => new SparseCategoricalCrossentropy().Compute(Logits, Labels, ones(Logits.shape[0] + 1)));
        Assert.Contains($"shape [{Logits.shape[0]}], got [{Logits.shape[0] + 1}]", error.Message);
        Assert.Contains("sparse_categorical_crossentropy", error.Message);
    }
}
