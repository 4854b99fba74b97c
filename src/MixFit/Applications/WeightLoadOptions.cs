namespace MixFit.Applications;

/// <summary>How <see cref="WeightLoader"/> matches a file's tensors to a module.</summary>
public sealed record WeightLoadOptions
{
    /// <summary>Fail when any key is missing, unexpected or mis-shaped (default true). When false, compatible keys load and the rest is reported.</summary>
    public bool Strict { get; init; } = true;

    /// <summary>Leave out the file's classifier (keys under <see cref="ClassifierPrefixes"/>), to put a new head on a pretrained base.</summary>
    public bool SkipClassifier { get; init; }

    /// <summary>
    /// Renames the file's keys before matching, by prefix (the longest matching prefix wins): e.g. <c>{ ["fc."] = "head.",
    /// [""] = "base." }</c> loads a torchvision ResNet's file into a whole <see cref="TransferModel"/>. Default none.
    /// </summary>
    public IReadOnlyDictionary<string, string> KeyPrefixes { get; init; } = new Dictionary<string, string>();

    /// <summary>Key prefixes of classifiers: <c>fc.</c> (ResNet) and <c>classifier.</c> (MobileNet).</summary>
    public IReadOnlyList<string> ClassifierPrefixes { get; init; } = new[] { "fc.", "classifier." };
}
