using MixFit.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Tests.Support;

/// <summary>Small real-data problems and models for training tests.</summary>
public static class TinyProblems
{
    private static readonly Lazy<(Tensor X, Tensor Y)> Train = new(() => MixFit.Data.FashionMnist.LoadEmbedded(FashionMnistSplit.Train).ToTensors());

    /// <summary>The first <paramref name="count"/> embedded Fashion-MNIST training images and labels.</summary>
    public static (Tensor X, Tensor Y) FashionMnist(int count) => (Train.Value.X.narrow(0, 0, count), Train.Value.Y.narrow(0, 0, count));

    /// <summary>A small MLP with dropout (so resuming must also restore the random generator).</summary>
    public static nn.Module<Tensor, Tensor> Mlp(long seed, double dropout = 0.3)
    {
        manual_seed(seed);
        var layers = new List<(string, nn.Module<Tensor, Tensor>)> { ("flatten", nn.Flatten()), ("fc1", nn.Linear(784, 32)), ("relu", nn.ReLU()) };
        if (dropout > 0)
        {
            layers.Add(("dropout", nn.Dropout(dropout)));
        }

        layers.Add(("fc2", nn.Linear(32, 10)));
        return nn.Sequential(layers);
    }
}
