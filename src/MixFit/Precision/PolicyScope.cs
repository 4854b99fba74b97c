namespace MixFit.Precision;

/// <summary>Restores the previous global <see cref="DTypePolicy"/> when disposed. Returned by <see cref="DTypePolicy.Use(DTypePolicy)"/>.</summary>
public sealed class PolicyScope : IDisposable
{
    private readonly DTypePolicy previous;
    private bool disposed;

    internal PolicyScope(DTypePolicy previous) => this.previous = previous;

    /// <summary>Restores the policy that was global when the scope was opened. Idempotent.</summary>
    public void Dispose()
    {
        if (!disposed)
        {
            DTypePolicy.SetGlobal(previous);
            disposed = true;
        }
    }
}
