namespace MixFit.Callbacks;

/// <summary>A callback hook threw; the message names the callback and the hook, the inner exception is the cause.</summary>
public sealed class CallbackException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CallbackException(string callback, string hook, Exception inner)
        : base($"Callback {callback} failed in {hook}: {inner.Message}", inner)
    {
        Callback = callback;
        Hook = hook;
    }

    /// <summary>The callback's type name.</summary>
    public string Callback { get; }

    /// <summary>The hook that threw, e.g. <c>OnEpochEnd</c>.</summary>
    public string Hook { get; }
}
