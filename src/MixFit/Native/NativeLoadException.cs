namespace MixFit.Native;

/// <summary>
/// Thrown when TorchSharp's native libraries cannot be loaded; the message names the cause and the fix.
/// </summary>
/// <remarks>
/// TorchSharp's own message for a failed load always suggests a missing libtorch package reference,
/// even when the real cause is the C++ runtime. MixFit asks the dynamic loader directly and reports what it says.
/// </remarks>
public sealed class NativeLoadException : Exception
{
    /// <summary>Creates the exception with a message and the original failure.</summary>
    public NativeLoadException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
