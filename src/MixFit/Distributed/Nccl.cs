using System.Runtime.InteropServices;
using MixFit.Native;
using static TorchSharp.torch;

namespace MixFit.Distributed;

/// <summary>
/// The few NCCL calls a GPU all-reduce needs, bound at run time to <c>libnccl.so.2</c>: the one a CUDA PyTorch wheel
/// carries (<c>nvidia/nccl/lib</c> beside the loaded <c>torch/lib</c>), a system NCCL, or <c>MIXFIT_NCCL_LIBRARY</c>.
/// Nothing is loaded until a CUDA data-parallel job or the GPU kit asks for it.
/// </summary>
/// <remarks>
/// Collectives run on CUDA's legacy default stream (0), the stream libtorch's kernels use unless told otherwise, so
/// an all-reduce starts after the backward kernels that produced its buffer and the optimizer's kernels wait for it,
/// with no host synchronisation. Tensor device pointers come from TorchSharp's shim (<c>THSTensor_data</c>).
/// </remarks>
internal sealed class Nccl : IDisposable
{
    private const int Float32 = 7;
    private const int Sum = 0;

    private readonly IntPtr library;
    private readonly GetVersionFunction getVersion;
    private readonly GetUniqueIdFunction getUniqueId;
    private readonly CommInitRankFunction commInitRank;
    private readonly AllReduceFunction allReduce;
    private readonly CommDestroyFunction commDestroy;
    private readonly ErrorStringFunction errorString;
    private IntPtr comm;

    private Nccl(IntPtr library, string path)
    {
        this.library = library;
        Path = path;
        getVersion = Function<GetVersionFunction>("ncclGetVersion");
        getUniqueId = Function<GetUniqueIdFunction>("ncclGetUniqueId");
        commInitRank = Function<CommInitRankFunction>("ncclCommInitRank");
        allReduce = Function<AllReduceFunction>("ncclAllReduce");
        commDestroy = Function<CommDestroyFunction>("ncclCommDestroy");
        errorString = Function<ErrorStringFunction>("ncclGetErrorString");
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int GetVersionFunction(out int version);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int GetUniqueIdFunction(out UniqueId id);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CommInitRankFunction(out IntPtr comm, int ranks, UniqueId id, int rank);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int AllReduceFunction(IntPtr send, IntPtr receive, nuint count, int datatype, int op, IntPtr comm, IntPtr stream);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CommDestroyFunction(IntPtr comm);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr ErrorStringFunction(int result);

    /// <summary>The library file loaded.</summary>
    public string Path { get; }

    /// <summary>NCCL's version, e.g. <c>2.27.7</c>.</summary>
    public string Version
    {
        get
        {
            Check(getVersion(out int code), "ncclGetVersion");
            return code >= 10000 ? $"{code / 10000}.{code / 100 % 100}.{code % 100}" : $"{code / 1000}.{code / 100 % 10}.{code % 100}";
        }
    }

    /// <summary>Loads NCCL, or throws <see cref="DllNotFoundException"/> saying where it looked.</summary>
    public static Nccl Load()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("MIXFIT_NCCL_LIBRARY") is { Length: > 0 } custom)
        {
            candidates.Add(custom);
        }

        if (LoadedLibraries.Find("libtorch_cuda") is { } torchCuda)
        {
            // A pip wheel: site-packages/torch/lib/libtorch_cuda.so beside site-packages/nvidia/nccl/lib/libnccl.so.2.
            candidates.Add(System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(torchCuda)!, "..", "..", "nvidia", "nccl", "lib", "libnccl.so.2")));
        }

        candidates.Add("libnccl.so.2");
        foreach (var candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                return new Nccl(handle, candidate);
            }
        }

        throw new DllNotFoundException(
            $"NCCL was asked for (CUDA data-parallel training), but libnccl.so.2 did not load from: {string.Join(", ", candidates)}. A CUDA PyTorch wheel carries it (nvidia-nccl-cu*); or set MIXFIT_NCCL_LIBRARY to its path.");
    }

    /// <summary>A new unique id (rank 0 makes it; the others receive it, e.g. by MPI broadcast), as 128 bytes.</summary>
    public byte[] NewUniqueId()
    {
        Check(getUniqueId(out var id), "ncclGetUniqueId");
        return id.ToArray();
    }

    /// <summary>
    /// Joins the communicator of <paramref name="ranks"/> ranks identified by <paramref name="uniqueId"/>, as
    /// <paramref name="rank"/>, on CUDA device <paramref name="device"/> (made the runtime's current device first:
    /// NCCL binds a communicator to the current device).
    /// </summary>
    public void Join(byte[] uniqueId, int ranks, int rank, int device)
    {
        if (comm != IntPtr.Zero)
        {
            throw new InvalidOperationException("This NCCL binding already joined a communicator.");
        }

        SetCurrentDevice(device);
        Check(commInitRank(out comm, ranks, UniqueId.From(uniqueId), rank), "ncclCommInitRank");
    }

    /// <summary>Sums a contiguous float32 CUDA tensor over the ranks, in place, on the default stream (no host synchronisation).</summary>
    public void SumInPlace(Tensor values)
    {
        if (comm == IntPtr.Zero)
        {
            throw new InvalidOperationException("Join a communicator before an all-reduce.");
        }

        if (values.device_type != TorchSharp.DeviceType.CUDA || values.dtype != ScalarType.Float32 || !values.is_contiguous())
        {
            throw new ArgumentException($"NCCL all-reduces contiguous float32 CUDA tensors; got {values.dtype} on {values.device_type}{(values.is_contiguous() ? "" : ", not contiguous")}.", nameof(values));
        }

        var pointer = DataPointer.Value(values.Handle);
        Check(allReduce(pointer, pointer, (nuint)values.numel(), Float32, Sum, comm, IntPtr.Zero), "ncclAllReduce");
    }

    /// <summary>Leaves the communicator.</summary>
    public void Dispose()
    {
        if (comm != IntPtr.Zero)
        {
            commDestroy(comm);
            comm = IntPtr.Zero;
        }
    }

    // THSTensor_data (tensor->data_ptr()) from the shim TorchSharp loaded: a device pointer for a CUDA tensor.
    private static readonly Lazy<TensorDataFunction> DataPointer = new(() =>
        LoadedLibraries.Export<TensorDataFunction>("libLibTorchSharp", "THSTensor_data")
        ?? throw new EntryPointNotFoundException("THSTensor_data was not found in the loaded libLibTorchSharp."));

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr TensorDataFunction(IntPtr tensor);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int SetDeviceFunction(int device);

    // Makes the device the CUDA runtime's current one on this thread; false when libcudart is not loaded.
    private static bool SetCurrentDevice(int device) =>
        LoadedLibraries.Export<SetDeviceFunction>("libcudart", "cudaSetDevice") is { } setDevice && setDevice(device) == 0;

    private T Function<T>(string name)
        where T : Delegate =>
        Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(library, name));

    private void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"{call} failed: NCCL error {result} ({Marshal.PtrToStringUTF8(errorString(result))}).");
        }
    }

    /// <summary>ncclUniqueId: 128 opaque bytes, passed by value (marshalled as a fixed-size array).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct UniqueId
    {
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 128)]
        public byte[] Bytes;

        public static UniqueId From(byte[] source) => source.Length == 128
            ? new UniqueId { Bytes = (byte[])source.Clone() }
            : throw new ArgumentException($"An NCCL unique id has 128 bytes, got {source.Length}.", nameof(source));

        public readonly byte[] ToArray() => (byte[])(Bytes ?? new byte[128]).Clone();
    }
}
