using System.Reflection;

namespace MixFit.Data;

/// <summary>
/// Fashion-MNIST (Zalando, MIT licence): 28x28 grayscale images of 10 clothing classes. MixFit embeds a real subset
/// (the first 6,000 training and 1,000 test images) so everything runs on a fresh machine; the full set (60,000 +
/// 10,000) is used when Debian's <c>dataset-fashion-mnist</c> package is installed.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs the full data set.</summary>
    public const string SystemDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Number of training images in the embedded subset.</summary>
    public const int EmbeddedTrainCount = 6000;

    /// <summary>Number of test images in the embedded subset.</summary>
    public const int EmbeddedTestCount = 1000;

    /// <summary>The class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = new[]
    {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    };

    /// <summary>Whether the full data set is installed at <see cref="SystemDirectory"/>.</summary>
    public static bool FullSetInstalled =>
        File.Exists(Path.Combine(SystemDirectory, FileName(FashionMnistSplit.Train, images: true)));

    /// <summary>The full set when installed, else the embedded subset.</summary>
    public static LabelledImages Load(FashionMnistSplit split) =>
        FullSetInstalled ? LoadDirectory(SystemDirectory, split) : LoadEmbedded(split);

    /// <summary>The embedded subset (6,000 training or 1,000 test images).</summary>
    public static LabelledImages LoadEmbedded(FashionMnistSplit split)
    {
        var assembly = typeof(FashionMnist).Assembly;
        return new LabelledImages(
            ReadResource(assembly, FileName(split, images: true)),
            ReadResource(assembly, FileName(split, images: false)),
            ClassNames,
            $"embedded Fashion-MNIST subset ({split})");
    }

    /// <summary>Reads the standard file names (<c>train-images-idx3-ubyte.gz</c>, …) from <paramref name="directory"/>.</summary>
    /// <exception cref="FileNotFoundException">A file is missing; the message names it.</exception>
    public static LabelledImages LoadDirectory(string directory, FashionMnistSplit split)
    {
        string images = Path.Combine(directory, FileName(split, images: true));
        string labels = Path.Combine(directory, FileName(split, images: false));
        foreach (var file in new[] { images, labels })
        {
            if (!File.Exists(file))
            {
                throw new FileNotFoundException($"Fashion-MNIST file not found: {file} (expected the IDX .gz files of the standard distribution).", file);
            }
        }

        return new LabelledImages(IdxReader.ReadFile(images), IdxReader.ReadFile(labels), ClassNames, directory);
    }

    /// <summary>The standard file name of a split's images or labels.</summary>
    public static string FileName(FashionMnistSplit split, bool images) =>
        (split == FashionMnistSplit.Train ? "train" : "t10k") + (images ? "-images-idx3-ubyte.gz" : "-labels-idx1-ubyte.gz");

    private static IdxArray ReadResource(Assembly assembly, string file)
    {
        string name = "MixFit.Data.fashion-mnist." + file;
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing from {assembly.GetName().Name}.");
        return IdxReader.Read(stream, name, gzip: true);
    }
}
