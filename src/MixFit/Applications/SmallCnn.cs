using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MixFit.Applications;

/// <summary>
/// A small convolutional classifier for 28x28 images (Fashion-MNIST): conv32-BN-ReLU-pool, conv64-BN-ReLU-pool,
/// dense 128, dense <c>classes</c>. About 420k parameters; trains to ~85% on Fashion-MNIST in one epoch on a CPU.
/// </summary>
/// <remarks>
/// Built from <c>Sequential</c> so every layer runs through <c>call()</c> (forward hooks and policy overrides work).
/// Module paths: <c>conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c>, <c>fc1</c>, <c>fc2</c> (the output layer).
/// </remarks>
public static class SmallCnn
{
    /// <summary>Creates the network for <paramref name="channels"/>-channel images of <paramref name="imageSize"/> pixels (divisible by 4).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An argument is not positive, or the size is not divisible by 4.</exception>
    public static Sequential Create(int classes = 10, int channels = 1, int imageSize = 28)
    {
        if (classes < 1 || channels < 1 || imageSize < 4 || imageSize % 4 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(imageSize), $"Need classes >= 1, channels >= 1 and an image size divisible by 4 (got {classes}, {channels}, {imageSize}).");
        }

        int flat = 64 * (imageSize / 4) * (imageSize / 4);
        return Sequential(
            ("conv1", Conv2d(channels, 32, 3, padding: 1)),
            ("bn1", BatchNorm2d(32)),
            ("relu1", ReLU()),
            ("pool1", MaxPool2d(2)),
            ("conv2", Conv2d(32, 64, 3, padding: 1)),
            ("bn2", BatchNorm2d(64)),
            ("relu2", ReLU()),
            ("pool2", MaxPool2d(2)),
            ("flatten", Flatten()),
            ("fc1", Linear(flat, 128)),
            ("relu3", ReLU()),
            ("fc2", Linear(128, classes)));
    }
}
