using System.Diagnostics;
using MixFit.Data;
using MixFit.Optimizers;
using static TorchSharp.torch;

namespace MixFit.Distributed;

/// <summary>
/// Data-parallel training over MPI, in Horovod's design: <c>mpirun -np N</c> starts one process (rank) per replica;
/// each reads a disjoint shard of every global batch, computes its gradients, and the ranks average them with one
/// all-reduce per bucket before the optimizer step. Pass it as <c>FitOptions.DataParallel</c>.
/// </summary>
/// <remarks>
/// <para>Every rank builds the same model from the same seed; <see cref="CheckSameModel"/> (called by <c>Fit</c>)
/// compares parameter shapes, a checksum of the initial weights and the configuration across ranks at start.</para>
/// <para>Loss scaling: gradients are averaged while still scaled, before the inf/NaN check, so an overflow on any rank
/// reaches every rank: all ranks skip the same steps and keep the same scale (the classic bug is ranks whose scales
/// drift apart).</para>
/// <para>Logs: each epoch's loss and metrics are averaged across ranks before callbacks see them; only rank 0 prints
/// (<see cref="IsPrimary"/>); the CLI also tracks and checkpoints on rank 0 only. BatchNorm statistics stay per replica.</para>
/// <para>On CPUs the all-reduce goes through MPI on host buffers (float32); on GPUs through NCCL on the device
/// (<c>libnccl.so.2</c> from the CUDA PyTorch wheel or the system), one GPU per rank on each machine
/// (<see cref="DeviceFor"/>). A rank that dies ends the job through <c>mpirun</c>, which stops the others and names
/// the rank.</para>
/// </remarks>
public sealed class DataParallel
{
    /// <summary>Elements per all-reduce call (gradients are flattened into buckets of at most this many floats).</summary>
    public const int BucketElements = 8 << 20;

    private readonly Mpi mpi;
    private readonly Stopwatch communication = new();
    private Nccl? nccl;

    private DataParallel(Mpi mpi)
    {
        this.mpi = mpi;
        Rank = mpi.Rank();
        WorldSize = mpi.Size();
    }

    /// <summary>This process's rank (0-based).</summary>
    public int Rank { get; }

    /// <summary>The number of ranks.</summary>
    public int WorldSize { get; }

    /// <summary>Whether this is rank 0, the one that prints, tracks and checkpoints.</summary>
    public bool IsPrimary => Rank == 0;

    /// <summary>The MPI ABI the job runs on: <c>Open MPI</c> or <c>MPICH</c> (MPICH, Intel MPI, Cray MPICH, MVAPICH).</summary>
    public string MpiAbi => mpi.Abi;

    /// <summary>The MPI library file loaded, e.g. <c>libmpi.so.40</c>.</summary>
    public string MpiLibrary => mpi.LibraryName ?? "";

    /// <summary>Wall time spent in all-reduce calls so far (gradients and logs), in seconds.</summary>
    public double CommunicationSeconds => communication.Elapsed.TotalSeconds;

    /// <summary>
    /// This rank's index among the ranks on its machine (Open MPI's <c>OMPI_COMM_WORLD_LOCAL_RANK</c>, Slurm's
    /// <c>SLURM_LOCALID</c>), 0 when the launcher does not say: which GPU the rank takes.
    /// </summary>
    public static int LocalRank =>
        new[] { "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID" }
            .Select(Environment.GetEnvironmentVariable).Select(v => int.TryParse(v, out int r) ? r : (int?)null).FirstOrDefault(r => r is not null) ?? 0;

    /// <summary>
    /// The device this rank trains on: <paramref name="requested"/>, except that an unindexed CUDA device becomes
    /// <c>cuda:(local rank mod GPUs)</c>, one GPU per rank on each machine.
    /// </summary>
    public static Device DeviceFor(Device requested)
    {
        ArgumentNullException.ThrowIfNull(requested);
        if (requested.type != TorchSharp.DeviceType.CUDA || requested.index >= 0)
        {
            return requested;
        }

        int gpus = TorchSharp.torch.cuda.device_count();
        return gpus <= 1 ? requested : new Device(TorchSharp.DeviceType.CUDA, LocalRank % gpus);
    }

    /// <summary>
    /// Whether an MPI launcher started this process: Open MPI's <c>mpirun</c> (<c>OMPI_COMM_WORLD_SIZE</c>), MPICH's
    /// Hydra or Slurm's PMI-2 (<c>PMI_SIZE</c>), or <c>srun --mpi=pmix</c> with more than one task (<c>PMIX_RANK</c>
    /// and <c>SLURM_NTASKS</c> &gt; 1: a one-task step on a cluster whose default is PMIx is a plain process).
    /// </summary>
    public static bool LaunchedByMpirun =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is { Length: > 0 }
        || Environment.GetEnvironmentVariable("PMI_SIZE") is { Length: > 0 }
        || (Environment.GetEnvironmentVariable("PMIX_RANK") is { Length: > 0 } && int.TryParse(Environment.GetEnvironmentVariable("SLURM_NTASKS"), out int tasks) && tasks > 1);

    /// <summary>Initialises MPI (once per process) and joins the job.</summary>
    /// <exception cref="DllNotFoundException">No MPI library; the message says what to install.</exception>
    public static DataParallel Initialize()
    {
        var mpi = Mpi.Library;
        mpi.EnsureInitialized();
        return new DataParallel(mpi);
    }

    /// <summary>The job this process belongs to when started by <c>mpirun</c>; null for a plain single process (no MPI needed).</summary>
    public static DataParallel? FromEnvironment() => LaunchedByMpirun ? Initialize() : null;

    /// <summary>This rank's shard of <paramref name="source"/> (see <see cref="ShardedBatchSource"/>).</summary>
    public IBatchSource Shard(IBatchSource source) => WorldSize == 1 ? source : new ShardedBatchSource(source, Rank, WorldSize);

    /// <summary>
    /// The NCCL communicator of this job on <paramref name="device"/>, created at the first GPU all-reduce: rank 0 makes
    /// the unique id and MPI broadcasts it (Horovod's design: MPI coordinates, NCCL reduces).
    /// </summary>
    private Nccl Communicator(int device)
    {
        if (nccl is not null)
        {
            return nccl;
        }

        var library = Nccl.Load();
        var id = Rank == 0 ? library.NewUniqueId() : new byte[128];
        var carrier = new float[32];
        Buffer.BlockCopy(id, 0, carrier, 0, 128);
        mpi.Broadcast(carrier, root: 0);      // MPI copies the bits; no arithmetic touches them
        Buffer.BlockCopy(carrier, 0, id, 0, 128);
        library.Join(id, WorldSize, Rank, Math.Max(0, device));
        return nccl = library;
    }

    /// <summary>
    /// Averages every optimizer's gradients over the ranks (sum, then divide by the world size), in buckets of at
    /// most <see cref="BucketElements"/> floats. A parameter without a gradient contributes zeros, so every rank
    /// reduces the same buffers.
    /// </summary>
    internal void ReduceGradients(IReadOnlyList<Optimizer> optimizers)
    {
        if (WorldSize == 1)
        {
            return;
        }

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var parameters = optimizers.SelectMany(o => o.Parameters).ToList();
        foreach (var p in parameters.Where(p => p.grad is null))
        {
            p.grad = zeros_like(p).DetachFromDisposeScope();
        }

        var grads = parameters.Select(p => p.grad!).ToList();
        int start = 0;
        while (start < grads.Count)
        {
            int end = start;
            long elements = 0;
            while (end < grads.Count && (end == start || elements + grads[end].numel() <= BucketElements))
            {
                elements += grads[end].numel();
                end++;
            }

            var bucket = grads.GetRange(start, end - start);
            var flat = cat(bucket.Select(g => g.reshape(-1).to(ScalarType.Float32)).ToList(), 0);
            Tensor averaged;
            if (flat.device_type == TorchSharp.DeviceType.CUDA)
            {
                // GPUs: NCCL sums the bucket on the device, queued after the backward kernels (no host sync).
                communication.Start();
                Communicator(flat.device_index).SumInPlace(flat);
                communication.Stop();
                averaged = flat.div_(WorldSize);
            }
            else
            {
                var values = flat.cpu().data<float>().ToArray();
                communication.Start();
                mpi.Allreduce(values, mpi.Sum);
                communication.Stop();
                averaged = tensor(values).div_(WorldSize);
            }

            long offset = 0;
            foreach (var g in bucket)
            {
                g.copy_(averaged.narrow(0, offset, g.numel()).reshape(g.shape).to(g.dtype, g.device));
                offset += g.numel();
            }

            start = end;
        }
    }

    /// <summary>
    /// The mean of each log over the ranks, each rank weighted by <paramref name="samples"/> (the samples behind its
    /// values, so shards of 26 and 25 validation images give the mean over all 51). Every rank must pass the same keys.
    /// </summary>
    public Dictionary<string, double> Average(IReadOnlyDictionary<string, double> logs, double samples = 1)
    {
        ArgumentNullException.ThrowIfNull(logs);
        var keys = logs.Keys.Order(StringComparer.Ordinal).ToArray();
        var values = keys.Select(k => logs[k] * samples).Append(samples).ToArray();
        if (WorldSize > 1)
        {
            communication.Start();
            mpi.Allreduce(values, mpi.Sum);
            communication.Stop();
        }

        double total = values[^1];
        return keys.Select((k, i) => (k, v: total > 0 ? values[i] / total : 0)).ToDictionary(t => t.k, t => t.v, StringComparer.Ordinal);
    }

    /// <summary>
    /// Compares the ranks' models and configurations at start: the number and shapes of the trainable parameters, a
    /// checksum of their initial values and a hash of <paramref name="configuration"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The ranks differ; the message says in what (every rank throws).</exception>
    public void CheckSameModel(nn.Module module, string configuration)
    {
        ArgumentNullException.ThrowIfNull(module);
        var parameters = module.parameters().ToList();
        double shapes = parameters.Select((p, i) => (i + 1) * (double)p.shape.Aggregate(1L, (a, d) => (a * 31) + d)).Sum();
        double checksum;
        using (no_grad())
        {
            checksum = parameters.Select((p, i) => (i + 1) * p.to(ScalarType.Float64).sum().item<double>()).Sum();
        }

        double config = configuration.Aggregate(17.0, (h, c) => ((h * 31) + c) % 1_000_000_007);
        var mine = new[] { parameters.Count, shapes, checksum, config };
        var max = (double[])mine.Clone();
        var min = (double[])mine.Clone();
        mpi.Allreduce(max, mpi.Max);
        mpi.Allreduce(min, mpi.Min);
        string[] what = { "the number of parameters", "the parameter shapes", "the initial weights (build every rank's model from the same seed)", "the training configuration" };
        for (int i = 0; i < mine.Length; i++)
        {
            double tolerance = i == 2 ? 1e-9 * Math.Max(1, Math.Abs(max[i])) : 0;
            if (max[i] - min[i] > tolerance)
            {
                throw new InvalidOperationException($"The {WorldSize} ranks differ in {what[i]} (rank {Rank} has {mine[i]:G10}; the ranks range from {min[i]:G10} to {max[i]:G10}); every rank must run the same model and options.");
            }
        }
    }

    /// <summary>Whether <paramref name="flag"/> is true on any rank (one tiny all-reduce): ranks agree to stop at the same step.</summary>
    public bool AnyRank(bool flag)
    {
        if (WorldSize == 1)
        {
            return flag;
        }

        var value = new[] { flag ? 1.0 : 0.0 };
        communication.Start();
        mpi.Allreduce(value, mpi.Max);
        communication.Stop();
        return value[0] > 0;
    }

    /// <summary>Waits for every rank.</summary>
    public void Barrier() => mpi.Barrier();

    /// <summary>Ends every rank of the job (MPI_Abort) with <paramref name="code"/>, e.g. after an error on one rank.</summary>
    public void Abort(int code) => mpi.Abort(code);
}
