using static TorchSharp.torch;

namespace MixFit.Kernels;

/// <summary>
/// Every read of a device value on the host in MixFit's training path goes through here (each is a device-to-host
/// transfer and, on a GPU, a synchronisation), so tests can count them: a fused loss-scaled step makes none, a
/// <c>Fit</c> step exactly one.
/// </summary>
internal static class HostReads
{
    private static long count;

    /// <summary>Reads made so far in this process.</summary>
    public static long Count => Interlocked.Read(ref count);

    /// <summary><c>tensor.item&lt;T&gt;()</c>, counted.</summary>
    public static T Item<T>(Tensor tensor)
        where T : unmanaged
    {
        Interlocked.Increment(ref count);
        return tensor.item<T>();
    }

    /// <summary>The tensor's values on the host (one transfer), counted.</summary>
    public static T[] Values<T>(Tensor tensor)
        where T : unmanaged
    {
        Interlocked.Increment(ref count);
        using var host = tensor.cpu();
        return host.data<T>().ToArray();
    }
}
