using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Kernels;

/// <summary>
/// A TorchScript compilation unit compiled once per process on first use, or null where this libtorch cannot compile
/// it. The way MixFit reaches libtorch operators TorchSharp 0.107 does not bind (<c>_amp_*</c>, <c>_foreach_*</c>,
/// <c>_fused_adam_</c>, ...).
/// </summary>
/// <remarks>A TorchScript <em>compile</em> error can abort the process inside libtorch, so every source handed to
/// this type is a fixed string covered by tests, using only operators present in libtorch 2.x.</remarks>
internal sealed class TorchScriptFunctions
{
    private readonly Lazy<jit.CompilationUnit?> unit;

    /// <summary>Prepares (does not yet compile) <paramref name="source"/>; <paramref name="what"/> names it in warnings.</summary>
    public TorchScriptFunctions(string what, string source) =>
        unit = new Lazy<jit.CompilationUnit?>(() => TryCompile(what, source), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether the source compiles on this libtorch (compiles it on the first call).</summary>
    public bool Available => unit.Value is not null;

    /// <summary>Calls the function <paramref name="name"/> of the unit.</summary>
    /// <exception cref="NotSupportedException">The unit did not compile.</exception>
    public void Invoke(string name, params object[] arguments) =>
        (unit.Value ?? throw new NotSupportedException($"The TorchScript function {name} is not available with this libtorch build.")).invoke(name, arguments);

    private static jit.CompilationUnit? TryCompile(string what, string source)
    {
        try
        {
            Native.TorchRuntime.EnsureLoaded();
            return jit.compile(source);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Trace.TraceWarning($"MixFit: fused {what} unavailable, using managed code: {e.Message}");
            return null;
        }
    }
}
