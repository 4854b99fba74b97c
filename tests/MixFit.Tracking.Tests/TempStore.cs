using MixFit.Tracking.Store;

namespace MixFit.Tracking.Tests;

/// <summary>A store in a temporary folder, deleted afterwards.</summary>
public sealed class TempStore : IDisposable
{
    public TempStore() => Root = Directory.CreateTempSubdirectory("mixfit-store-").FullName;

    public string Root { get; }

    public RunStore Open() => RunStore.Open(Root);

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
