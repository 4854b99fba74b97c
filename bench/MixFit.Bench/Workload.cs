using MixFit.Applications;
using MixFit.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Bench;

/// <summary>A model and one fixed batch of real Fashion-MNIST images for it.</summary>
internal sealed class Workload
{
    private readonly Func<nn.Module<Tensor, Tensor>> factory;
    private readonly Dictionary<string, Tensor> initial;

    private Workload(string name, Func<nn.Module<Tensor, Tensor>> factory, Tensor x, Tensor y)
    {
        Name = name;
        this.factory = factory;
        X = x;
        Y = y;
        manual_seed(0);
        // Copies: the template model's own tensors die with it when the GC finalises it.
        using var template = factory();
        initial = template.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }

    public string Name { get; }

    public Tensor X { get; }

    public Tensor Y { get; }

    /// <summary>A fresh model with the same initial weights every time.</summary>
    public nn.Module<Tensor, Tensor> NewModel()
    {
        var model = factory();
        model.load_state_dict(initial);
        model.train();
        return model;
    }

    /// <summary>The small CNN on 28x28 images, batch 128.</summary>
    public static Workload SmallCnnBatch128()
    {
        var (x, y) = FashionMnist.LoadEmbedded(FashionMnistSplit.Train).ToTensors(128);
        return new Workload("small-cnn (batch 128, 28x28)", () => SmallCnn.Create(), x, y);
    }

    /// <summary>TorchVision's resnet18 on the images upsampled to 64x64 RGB, batch 16.</summary>
    public static Workload ResNet18Batch16()
    {
        var (gray, y) = FashionMnist.LoadEmbedded(FashionMnistSplit.Train).ToTensors(16);
        var x = nn.functional.interpolate(gray, new long[] { 64, 64 }, mode: InterpolationMode.Bilinear, align_corners: false).expand(-1, 3, -1, -1).contiguous();
        return new Workload("resnet18 (batch 16, 64x64)", () => torchvision.models.resnet18(num_classes: 10), x, y);
    }
}
