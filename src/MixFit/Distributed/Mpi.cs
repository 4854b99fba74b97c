using System.Runtime.InteropServices;

namespace MixFit.Distributed;

/// <summary>
/// The few MPI C calls data-parallel training needs, bound at run time to either ABI in use: Open MPI's
/// <c>libmpi.so.40</c> (Debian's <c>libopenmpi3</c>, a cluster's Open MPI), whose handles (<c>MPI_COMM_WORLD</c>,
/// <c>MPI_FLOAT</c>, <c>MPI_SUM</c>) are addresses of exported symbols read with <see cref="NativeLibrary.GetExport"/>;
/// or the MPICH ABI (<c>libmpich.so.12</c> / <c>libmpi.so.12</c>: MPICH, Intel MPI, Cray MPICH, MVAPICH), whose handles
/// are mpi.h's integer constants. <c>MIXFIT_MPI_LIBRARY</c> names the file. Nothing is loaded until a process asks
/// for MPI, so single-process runs need no MPI installed.
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
        var tried = new List<string>();
        foreach (var name in Candidates())
        {
            tried.Add(name);
            if (NativeLibrary.TryLoad(name, out library))
            {
                LibraryName = name;
                break;
            }
        }

        if (LibraryName is null)
        {
            throw new DllNotFoundException(
                $"MPI was asked for, but no MPI library loaded (tried {string.Join(", ", tried)}). Install Open MPI (Debian/Ubuntu: sudo apt-get install openmpi-bin libopenmpi-dev) or MPICH (mpich), or set MIXFIT_MPI_LIBRARY to your libmpi.so.");
        }

        if (NativeLibrary.TryGetExport(library, "ompi_mpi_comm_world", out var world))
        {
            // Open MPI: handles are addresses of exported objects.
            Abi = "Open MPI";
            World = world;
            Float = NativeLibrary.GetExport(library, "ompi_mpi_float");
            Double = NativeLibrary.GetExport(library, "ompi_mpi_double");
            Sum = NativeLibrary.GetExport(library, "ompi_mpi_op_sum");
            Max = NativeLibrary.GetExport(library, "ompi_mpi_op_max");
            Min = NativeLibrary.GetExport(library, "ompi_mpi_op_min");
            InPlace = new IntPtr(1);
        }
        else if (NativeLibrary.TryGetExport(library, "MPI_Comm_rank", out _))
        {
            // The MPICH ABI (MPICH, Intel MPI, Cray MPICH, MVAPICH): handles are integer constants of mpi.h, passed
            // where the C API takes an int (the low 32 bits of the argument register).
            Abi = "MPICH";
            World = new IntPtr(0x44000000);
            Float = new IntPtr(0x4c00040a);
            Double = new IntPtr(0x4c00080b);
            Sum = new IntPtr(0x58000003);
            Max = new IntPtr(0x58000001);
            Min = new IntPtr(0x58000002);
            InPlace = new IntPtr(-1);
        }
        else
        {
            throw new NotSupportedException($"{LibraryName} exports no MPI_Comm_rank: it is not an MPI library.");
        }

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

    /// <summary>MPI_IN_PLACE of the loaded ABI.</summary>
    public IntPtr InPlace { get; }

    /// <summary>The library file loaded.</summary>
    public string? LibraryName { get; }

    /// <summary>The ABI bound: <c>Open MPI</c> or <c>MPICH</c>.</summary>
    public string Abi { get; } = "";

    /// <summary>
    /// Which libraries to try, in order: <c>MIXFIT_MPI_LIBRARY</c>; then the launcher's own (Open MPI's <c>mpirun</c>
    /// sets <c>OMPI_*</c>, MPICH's Hydra sets <c>PMI_*</c>); then Open MPI's, then the MPICH ABI's sonames.
    /// </summary>
    internal static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("MIXFIT_MPI_LIBRARY") is { Length: > 0 } custom)
        {
            yield return custom;
            yield break;
        }

        string[] openMpi = { "libmpi.so.40", "libmpi.so" };
        string[] mpich = { "libmpich.so.12", "libmpi.so.12" };
        bool hydra = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is null && Environment.GetEnvironmentVariable("PMI_SIZE") is { Length: > 0 };
        foreach (var name in hydra ? mpich.Concat(openMpi) : openMpi.Concat(mpich))
        {
            yield return name;
        }
    }

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
