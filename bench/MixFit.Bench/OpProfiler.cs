using System.Runtime.InteropServices;

namespace MixFit.Bench;

/// <summary>
/// libtorch's own op profiler (Kineto, what PyTorch's torch.profiler records) through tools/native/mixfit_op_profiler.cpp,
/// built against the libtorch this process loads (bench/peers/profile.sh). Records every op of the steps between
/// <see cref="Start"/> and <see cref="Stop"/>; the events go to a tab-separated file bench/peers/profile_table.py reads.
/// </summary>
internal sealed class OpProfiler
{
    private readonly Func<int> start;
    private readonly Func<IntPtr, long> stop;

    private OpProfiler(string library)
    {
        if (!File.Exists(library))
        {
            throw new FileNotFoundException($"--profiler {library}: no such file; bench/peers/profile.sh builds it (tools/native/mixfit_op_profiler.cpp).", library);
        }

        var handle = NativeLibrary.Load(library);
        start = Marshal.GetDelegateForFunctionPointer<StartFn>(NativeLibrary.GetExport(handle, "MixFit_op_profiler_start")).Invoke;
        stop = Marshal.GetDelegateForFunctionPointer<StopFn>(NativeLibrary.GetExport(handle, "MixFit_op_profiler_stop")).Invoke;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int StartFn();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate long StopFn(IntPtr path);

    /// <summary>Loads the profiler library (loaded after TorchSharp's libtorch, so it binds to the same one).</summary>
    public static OpProfiler Load(string library) => new(Path.GetFullPath(library));

    /// <summary>Starts recording.</summary>
    /// <exception cref="InvalidOperationException">libtorch refused (e.g. a profiler already running).</exception>
    public void Start()
    {
        if (start() != 0)
        {
            throw new InvalidOperationException("libtorch's profiler did not start.");
        }
    }

    /// <summary>Stops recording and writes the events to <paramref name="path"/>; returns how many.</summary>
    public long Stop(string path)
    {
        var text = Marshal.StringToCoTaskMemUTF8(path);
        try
        {
            long count = stop(text);
            return count >= 0 ? count : throw new IOException($"libtorch's profiler could not write {path}.");
        }
        finally
        {
            Marshal.FreeCoTaskMem(text);
        }
    }
}
