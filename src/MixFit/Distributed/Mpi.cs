using System.Runtime.InteropServices;

namespace MixFit.Distributed;

/// <summary>
/// The few MPI C calls data-parallel training needs, bound at run time to Open MPI's <c>libmpi.so.40</c> (Debian's
/// <c>libopenmpi3</c>; a cluster's own Open MPI works the same; <c>MIXFIT_MPI_LIBRARY</c> names another file). Open MPI's
/// handles (<c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>, <c>MPI_SUM</c>) are addresses of exported symbols, read with
/// <see cref="NativeLibrary.GetExport"/>. Nothing is loaded until a process asks for MPI, so single-process runs need no
/// MPI installed.
/// </summary>
internal sealed class Mpi
{
    private const int ThreadFunneled = 1;

    private static readonly Lazy<Mpi> Instance = new(() => new Mpi());

    private readonly IntPtr library;
    private readonly IntFunction initialized;
    private readonly InitThreadFunction initThread;
    private readonly CommIntFunction commRank;
    private readonly CommIntFunction commSize;
    private readonly AllreduceFunction allreduce;
    private readonly BcastFunction bcast;
    private readonly CommFunction barrier;
    private readonly AbortFunction abort;
    private readonly NoArgumentFunction finalize;
    private readonly IntFunction finalized;

    private Mpi()
    {
        string name = Environment.GetEnvironmentVariable("MIXFIT_MPI_LIBRARY") is { Length: > 0 } custom ? custom : "libmpi.so.40";
        if (!NativeLibrary.TryLoad(name, out library) && !NativeLibrary.TryLoad("libmpi.so", out library))
        {
            throw new DllNotFoundException(
                $"MPI was asked for, but {name} could not be loaded. Install Open MPI (Debian/Ubuntu: sudo apt-get install openmpi-bin libopenmpi-dev) or set MIXFIT_MPI_LIBRARY to your libmpi.so.");
        }

        if (!NativeLibrary.TryGetExport(library, "ompi_mpi_comm_world", out var world))
        {
            throw new NotSupportedException($"{name} is not Open MPI (no ompi_mpi_comm_world): MixFit binds Open MPI's ABI; MPICH and Intel MPI are not supported yet.");
        }

        World = world;
        Float = NativeLibrary.GetExport(library, "ompi_mpi_float");
        Double = NativeLibrary.GetExport(library, "ompi_mpi_double");
        Sum = NativeLibrary.GetExport(library, "ompi_mpi_op_sum");
        Max = NativeLibrary.GetExport(library, "ompi_mpi_op_max");
        Min = NativeLibrary.GetExport(library, "ompi_mpi_op_min");
        initialized = Function<IntFunction>("MPI_Initialized");
        initThread = Function<InitThreadFunction>("MPI_Init_thread");
        commRank = Function<CommIntFunction>("MPI_Comm_rank");
        commSize = Function<CommIntFunction>("MPI_Comm_size");
        allreduce = Function<AllreduceFunction>("MPI_Allreduce");
        bcast = Function<BcastFunction>("MPI_Bcast");
        barrier = Function<CommFunction>("MPI_Barrier");
        abort = Function<AbortFunction>("MPI_Abort");
        finalize = Function<NoArgumentFunction>("MPI_Finalize");
        finalized = Function<IntFunction>("MPI_Finalized");
    }

    private delegate int IntFunction(out int value);

    private delegate int InitThreadFunction(IntPtr argc, IntPtr argv, int required, out int provided);

    private delegate int CommIntFunction(IntPtr comm, out int value);

    private delegate int AllreduceFunction(IntPtr send, IntPtr receive, int count, IntPtr datatype, IntPtr op, IntPtr comm);

    private delegate int BcastFunction(IntPtr buffer, int count, IntPtr datatype, int root, IntPtr comm);

    private delegate int CommFunction(IntPtr comm);

    private delegate int AbortFunction(IntPtr comm, int code);

    private delegate int NoArgumentFunction();

    /// <summary>MPI_IN_PLACE in Open MPI.</summary>
    public static IntPtr InPlace => new(1);

    /// <summary>The process-wide binding (loads the library on first use).</summary>
    public static Mpi Library => Instance.Value;

    /// <summary>MPI_COMM_WORLD.</summary>
    public IntPtr World { get; }

    /// <summary>MPI_FLOAT.</summary>
    public IntPtr Float { get; }

    /// <summary>MPI_DOUBLE.</summary>
    public IntPtr Double { get; }

    /// <summary>MPI_SUM.</summary>
    public IntPtr Sum { get; }

    /// <summary>MPI_MAX.</summary>
    public IntPtr Max { get; }

    /// <summary>MPI_MIN.</summary>
    public IntPtr Min { get; }

    /// <summary>Initialises MPI once (funneled threads: only the training thread calls MPI); later calls do nothing.</summary>
    public void EnsureInitialized()
    {
        Check(initialized(out int done), "MPI_Initialized");
        if (done == 0)
        {
            Check(initThread(IntPtr.Zero, IntPtr.Zero, ThreadFunneled, out _), "MPI_Init_thread");
            // A rank that exits with an error (or is told to by Environment.Exit(code)) aborts the whole job, so the
            // others, waiting in an all-reduce, end within seconds instead of hanging in MPI_Finalize.
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                if (Environment.ExitCode != 0)
                {
                    Console.Error.WriteLine($"MixFit: rank {Rank()} of {Size()} is exiting with code {Environment.ExitCode}; aborting the MPI job so no rank waits for it.");
                    Console.Error.Flush();
                    Abort(Environment.ExitCode);
                }
                else
                {
                    FinalizeOnce();
                }
            };
        }
    }

    public int Rank()
    {
        Check(commRank(World, out int rank), "MPI_Comm_rank");
        return rank;
    }

    public int Size()
    {
        Check(commSize(World, out int size), "MPI_Comm_size");
        return size;
    }

    /// <summary>Sums (or max/min) <paramref name="values"/> over every rank, in place. Blocks until every rank has called it.</summary>
    public void Allreduce(float[] values, IntPtr op) => Pinned(values, address => Check(allreduce(InPlace, address, values.Length, Float, op, World), "MPI_Allreduce"));

    /// <summary>The same for doubles.</summary>
    public void Allreduce(double[] values, IntPtr op) => Pinned(values, address => Check(allreduce(InPlace, address, values.Length, Double, op, World), "MPI_Allreduce"));

    private static void Pinned(Array values, Action<IntPtr> call)
    {
        var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
        try
        {
            call(handle.AddrOfPinnedObject());
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="values"/> to every rank.</summary>
    public void Broadcast(float[] values, int root) => Pinned(values, address => Check(bcast(address, values.Length, Float, root, World), "MPI_Bcast"));

    public void Barrier() => Check(barrier(World), "MPI_Barrier");

    /// <summary>Ends every rank of the job with <paramref name="code"/> (MPI_Abort): no rank is left waiting.</summary>
    public void Abort(int code) => abort(World, code);

    private void FinalizeOnce()
    {
        if (finalized(out int done) == 0 && done == 0)
        {
            finalize();
        }
    }

    private T Function<T>(string name)
        where T : Delegate =>
        Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(library, name));

    private static void Check(int code, string call)
    {
        if (code != 0)
        {
            throw new InvalidOperationException($"{call} failed with MPI error code {code}.");
        }
    }
}
