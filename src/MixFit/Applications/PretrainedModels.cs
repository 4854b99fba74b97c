namespace MixFit.Applications;

/// <summary>
/// Pretrained models MixFit can use without downloading anything: ML.NET's ImageNet ResNet18, shipped as ONNX in the
/// NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> 0.23.1 (MIT), restored with the MixFit CLI and
/// found in the NuGet package folder.
/// </summary>
/// <remarks>
/// Lookup order: the folder in <c>MIXFIT_MODELS</c> (holding <c>ResNet18Onnx/ResNet18.onnx</c> and
/// <c>ResNetPrepOnnx/ResNetPreprocess.onnx</c>, the package's <c>tools/DnnImageModels</c> layout), then
/// <c>DnnImageModels/</c> beside the application, then the NuGet package folder (<c>NUGET_PACKAGES</c> or
/// <c>~/.nuget/packages</c>). An application of your own restores the package with
/// <c>&lt;PackageDownload Include="Microsoft.ML.DnnImageFeaturizer.ResNet18" Version="[0.23.1]" /&gt;</c>.
/// </remarks>
public static class PretrainedModels
{
    /// <summary>The NuGet package that holds the ResNet18 ONNX files.</summary>
    public const string ResNet18Package = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>Its version.</summary>
    public const string ResNet18PackageVersion = "0.23.1";

    /// <summary>The input size the ResNet18 graph takes, in pixels.</summary>
    public const int ResNet18ImageSize = 224;

    /// <summary>The <c>DnnImageModels</c> folder holding the ResNet18 files.</summary>
    /// <exception cref="FileNotFoundException">Not found anywhere; the message says how to get it.</exception>
    public static string ModelsFolder()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("MIXFIT_MODELS") is { Length: > 0 } custom)
        {
            candidates.Add(custom);
        }

        candidates.Add(Path.Combine(AppContext.BaseDirectory, "DnnImageModels"));
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } root
            ? root
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        candidates.Add(Path.Combine(packages, ResNet18Package.ToLowerInvariant(), ResNet18PackageVersion, "tools", "DnnImageModels"));
        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, "ResNet18Onnx", "ResNet18.onnx")))
            ?? throw new FileNotFoundException(
                $"The ImageNet ResNet18 (ONNX) was not found in: {string.Join("; ", candidates)}. It comes with the NuGet package {ResNet18Package} {ResNet18PackageVersion}: " +
                $"restore the MixFit CLI (dotnet restore), or add <PackageDownload Include=\"{ResNet18Package}\" Version=\"[{ResNet18PackageVersion}]\" /> to your project, or set MIXFIT_MODELS to a folder holding ResNet18Onnx/ResNet18.onnx.");
    }

    /// <summary>The ResNet18 graph file.</summary>
    public static string ResNet18OnnxPath() => Path.Combine(ModelsFolder(), "ResNet18Onnx", "ResNet18.onnx");

    /// <summary>Its preprocessing graph (RGB to BGR, minus the ImageNet mean in 0..255).</summary>
    public static string ResNet18PreprocessPath() => Path.Combine(ModelsFolder(), "ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>
    /// ML.NET's ImageNet-pretrained ResNet18 as a feature extractor: [N, 3, 224, 224] RGB images in [0, 1] in,
    /// 512 pooled features out, with the package's preprocessing (read from <c>ResNetPreprocess.onnx</c>) in front.
    /// </summary>
    public static OnnxBackbone ResNet18ImageNet() =>
        OnnxBackbone.Load(ResNet18OnnxPath(), ImagePreprocessing.FromOnnx(ResNet18PreprocessPath()));
}
