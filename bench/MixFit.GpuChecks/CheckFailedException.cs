namespace MixFit.GpuChecks;

/// <summary>A check found a difference; the message says what.</summary>
public sealed class CheckFailedException(string message) : Exception(message);
