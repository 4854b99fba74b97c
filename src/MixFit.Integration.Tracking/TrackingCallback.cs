using System.Diagnostics;
using System.Text.Json.Nodes;
using MixFit.Callbacks;
using MixFit.Metrics;
using MixFit.Native;
using MixFit.Tracking.Sampling;
using MixFit.Tracking.Store;
using MixFit.Training;

namespace MixFit.Integration.Tracking;

/// <summary>
/// Bridges <c>Fit</c> to the experiment tracker: starts a run, records the configuration and environment, every
/// step's and epoch's logs, system metrics in the background, the console output, and at the end the training time
/// and a summary (last and best value of every epoch metric, median ms/step, peak memory, skipped steps).
/// </summary>
/// <remarks>
/// Dispose it after the fit (a <c>using</c>): a fit that ended with an exception then shows as failed, one that
/// completed as finished, one stopped with <see cref="StopReason.Interrupted"/> (Ctrl+C) as killed. A process that
/// dies shows as crashed the next time the store is opened.
/// </remarks>
public sealed class TrackingCallback : Callback, IDisposable
{
    /// <inheritdoc />
    public override int Order => TrackingOrder;

    private readonly RunStore store;
    private readonly string name;
    private readonly string dataset;
    private readonly IEnumerable<string> tags;
    private readonly List<double> stepTimes = new();
    private readonly Dictionary<string, double> best = new();
    private Stopwatch? watch;
    private SystemSampler? sampler;
    private long globalStep;
    private double skipped;
    private double lastStepRow = double.NegativeInfinity;

    /// <summary>Creates the bridge; the run starts with the fit.</summary>
    /// <param name="store">The store to log into.</param>
    /// <param name="name">The run's name.</param>
    /// <param name="dataset">A description of the data, for the config.</param>
    /// <param name="tags">Tags for the run.</param>
    /// <param name="captureConsole">Tee the console into the run's <c>output.log</c>. Default true.</param>
    public TrackingCallback(RunStore store, string name, string dataset = "", IEnumerable<string>? tags = null, bool captureConsole = true)
    {
        this.store = store ?? throw new ArgumentNullException(nameof(store));
        this.name = name;
        this.dataset = dataset;
        this.tags = tags ?? Array.Empty<string>();
        CaptureConsole = captureConsole;
    }

    /// <summary>Whether console output is teed into the run.</summary>
    public bool CaptureConsole { get; }

    /// <summary>
    /// Continue this earlier run instead of starting one (W&amp;B's <c>resume="allow"</c>): same id, status back to
    /// running, step numbers continuing, a <c>resume</c> record and a marker line in its log. Set before the fit.
    /// </summary>
    public string? ResumeRunId { get; init; }

    /// <summary>The model's name for the run's config (e.g. <c>resnet18</c>); default: the module's type name.</summary>
    public string? ModelName { get; init; }

    /// <summary>Where the callback's own lines go (the "--- resumed run ..." line); null (default): the run's captured console when it captures one, else nowhere. A job passes the writer it was given.</summary>
    public TextWriter? Output { get; init; }

    /// <summary>More configuration recorded with the run (e.g. <c>image_size</c>, <c>weights</c>).</summary>
    public JsonObject? ExtraConfig { get; init; }

    /// <summary>
    /// Least seconds between two step rows. Reading a step's logs is a device-to-host transfer (on a GPU, a
    /// synchronisation: see <see cref="DeviceLogs"/>), so a step row is written when the logs were read already
    /// (e.g. by the progress bar) or this long after the previous row. Default (null): every step on the CPU, where a
    /// read costs only a copy; 0.5 s on other devices. Epoch rows are always written.
    /// </summary>
    public double? StepLogSeconds { get; init; }

    private double earlierTrainingTime;

    /// <summary>The run, once the fit started.</summary>
    public Run? Run { get; private set; }

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs)
    {
        ProcessMemory.ResetPeak();
        if (CudaIndex() is { } gpu)
        {
            CudaMemory.ResetPeak(gpu);
        }

        if (ResumeRunId is { } id)
        {
            Run = store.ResumeRun(id);
            globalStep = store.Metrics(id, "step").Select(p => p.Step + 1).DefaultIfEmpty(0).Max();
            earlierTrainingTime = store.Get(id).Summary.GetValueOrDefault("training_time");
        }
        else
        {
            Run = store.StartRun(name, Config(), tags: tags);
        }

        if (CaptureConsole)
        {
            Run.CaptureConsole();
        }

        if (ResumeRunId is not null)
        {
            Run.Log("resume", Context.InitialEpoch, new Dictionary<string, double> { ["epoch"] = Context.InitialEpoch, ["step"] = globalStep });
            (Output ?? Run.CapturedConsole)?.WriteLine($"--- resumed run {Run.Id} at epoch {Context.InitialEpoch + 1}, step {globalStep} ---");
        }

        sampler = new SystemSampler(Run);
        watch = Stopwatch.StartNew();
    }

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        long step = globalStep++;
        double now = watch?.Elapsed.TotalSeconds ?? 0;
        double interval = StepLogSeconds ?? (Context.Trainer.Precision.Device.type == TorchSharp.DeviceType.CPU ? 0 : 0.5);
        if (Run is null || (logs is DeviceLogs { IsRead: false } && now - lastStepRow < interval))
        {
            return;
        }

        lastStepRow = now;
        Run.Log("step", step, logs);
        if (logs.TryGetValue("ms_per_step", out double ms))
        {
            stepTimes.Add(ms);
        }

        if (logs.TryGetValue("skipped_steps", out double s))
        {
            skipped = s;
        }
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        Run?.Log("epoch", epoch, logs);
        foreach (var (metric, value) in logs)
        {
            bool higherIsBetter = MetricDirection.HigherIsBetter(metric);
            if (double.IsFinite(value) && (!best.TryGetValue(metric, out double b) || (higherIsBetter ? value > b : value < b)))
            {
                best[metric] = value;
            }
        }

        var last = new Dictionary<string, double>(logs);
        foreach (var (metric, value) in best)
        {
            last[metric + ".best"] = value;
        }

        Run?.UpdateSummary(last);
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (Run is null)
        {
            return;
        }

        sampler?.Dispose();
        var summary = new Dictionary<string, double>
        {
            // A resumed run reports the whole run: its epochs from the first and the training time of every session.
            ["training_time"] = earlierTrainingTime + (watch?.Elapsed.TotalSeconds ?? 0),
            ["epochs"] = ResumeRunId is null ? Context.Epoch + 1 - Context.InitialEpoch : Context.Epoch + 1,
            ["skipped_steps"] = skipped,
        };
        if (stepTimes.Count > 0)
        {
            summary["ms_per_step"] = stepTimes.Skip(stepTimes.Count > 1 ? 1 : 0).Order().ElementAt((stepTimes.Count - (stepTimes.Count > 1 ? 1 : 0)) / 2);
        }

        if (ProcessMemory.PeakResidentMegabytes() is { } peak)
        {
            summary["peak_memory_mb"] = peak;
        }

        foreach (var (metric, value) in sampler?.Peaks ?? new Dictionary<string, double>())
        {
            summary["peak." + metric] = value;
        }

        // libtorch's own figures, where the shim carries them (see CudaMemory).
        if (CudaIndex() is { } device && CudaMemory.Read(device) is { } allocator)
        {
            summary["peak_gpu_allocated_mb"] = allocator.PeakAllocatedBytes / (1024.0 * 1024);
            summary["peak_gpu_reserved_mb"] = allocator.PeakReservedBytes / (1024.0 * 1024);
        }

        // The most device memory the process held on any GPU (NVML's per-process figure), for compare and the reports.
        var gpuPeaks = summary.Where(kv => kv.Key.StartsWith("peak.gpu.process.", StringComparison.Ordinal) && kv.Key.EndsWith(".memoryAllocatedBytes", StringComparison.Ordinal)).Select(kv => kv.Value).ToList();
        if (gpuPeaks.Count > 0)
        {
            summary["peak_gpu_memory_mb"] = gpuPeaks.Max() / (1024 * 1024);
        }

        Run.UpdateSummary(summary);
        Run.Finish(Context.StopReason == StopReason.Interrupted ? RunStatus.Killed : RunStatus.Finished);
    }

    /// <summary>Marks the run failed when the fit did not reach its end; releases the sampler.</summary>
    public void Dispose()
    {
        sampler?.Dispose();
        Run?.Dispose();
    }

    /// <summary>The CUDA device index the trainer runs on, or null off CUDA.</summary>
    private int? CudaIndex() =>
        Context.Trainer.Precision.Device is { type: TorchSharp.DeviceType.CUDA } cuda ? Math.Max(0, (int)cuda.index) : null;

    private JsonObject Config()
    {
        var trainer = Context.Trainer;
        var options = Context.Options;
        var report = SystemReport.Collect();
        var environment = new JsonObject
        {
            ["os"] = report.OperatingSystem,
            ["dotnet"] = report.DotNetVersion,
            ["torchsharp"] = report.TorchSharpVersion,
            ["libtorch"] = report.LibTorchVersion,
            ["cpu"] = report.Cpu.Model,
            ["cpu_threads"] = report.CpuThreads,
            ["avx512_bf16"] = report.Cpu.Avx512Bf16,
            ["amx_bf16"] = report.Cpu.AmxBf16,
            ["avx512_fp16"] = report.Cpu.Avx512Fp16,
            ["cuda"] = report.CudaAvailable,
            ["libtorch_cuda"] = report.LibTorchBuild.CudaVersion,
            ["libtorch_path"] = report.NativeLibraries.FirstOrDefault(p => LoadedLibraries.BaseName(p) == "libtorch_cpu"),
            ["torchsharp_shim_path"] = report.NativeLibraries.FirstOrDefault(p => LoadedLibraries.BaseName(p) == "libLibTorchSharp"),
            ["command_line"] = Environment.CommandLine,
        };
        if (Nvml.TryCreate() is { } nvml)
        {
            environment["gpu_driver"] = nvml.Driver();
            environment["gpus"] = new JsonArray(Enumerable.Range(0, nvml.DeviceCountValue)
                .Select(i => (JsonNode)new JsonObject
                {
                    ["name"] = nvml.Name(i),
                    ["memory_mb"] = nvml.TotalMemory(i) / (1024 * 1024),
                    ["compute_capability"] = report.CudaDevices.FirstOrDefault(d => d.Index == i)?.ComputeCapability,
                }).ToArray());
        }

        if (GitCommit() is { } commit)
        {
            environment["git_commit"] = commit;
        }

        var config = new JsonObject
        {
            ["policy"] = trainer.Precision.Policy.Name,
            ["model"] = ModelName ?? trainer.Module.GetType().Name,
            ["parameters"] = trainer.Module.parameters().Sum(p => p.numel()),
            ["optimizer"] = trainer.Optimizer?.GetType().Name,
            ["learning_rate"] = trainer.Optimizer?.LearningRate,
            ["loss"] = trainer.Loss?.Name,
            ["loss_scale"] = trainer.Precision.LossScaleMode.ToString().ToLowerInvariant(),
            ["batch_size"] = options?.BatchSize,
            ["epochs"] = options?.Epochs,
            ["seed"] = options?.Seed,
            ["dataset"] = dataset,
            ["samples"] = Context.TrainData?.Count,
            ["environment"] = environment,
        };
        foreach (var (key, value) in ExtraConfig ?? new JsonObject())
        {
            config[key] = value?.DeepClone();
        }

        return config;
    }

    private static string? GitCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse HEAD") { RedirectStandardOutput = true, RedirectStandardError = true });
            if (git is null)
            {
                return null;
            }

            string output = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit(5000);
            return git.ExitCode == 0 && output.Length == 40 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
