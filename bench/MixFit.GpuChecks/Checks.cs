using MixFit.Applications;
using MixFit.Data;
using MixFit.Kernels;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.GpuChecks;

/// <summary>
/// The checks of the CUDA issue, written once for any device: the kit runs them on the GPU (<c>mixfit-gpu checks</c>),
/// the test suite as <c>Category=Cuda</c> tests where CUDA is available, and on the CPU they check themselves. Each
/// throws <see cref="CheckFailedException"/> saying what differed.
/// </summary>
public static class Checks
{
    /// <summary>Every check by name, in the order the kit runs them.</summary>
    public static IReadOnlyList<(string Name, Action<Device> Run)> All { get; } = new (string, Action<Device>)[]
    {
        ("every-policy-resnet18", EveryPolicyTrainsResNet18WithFloat32MastersAndLogits),
        ("fused-equals-managed", FusedAndManagedKernelsTrainAlike),
        ("skipped-step-bitwise", ASkippedStepLeavesParametersAndOptimizerStateBitwiseUnchanged),
        ("loss-scale-sequence", TheLossScaleFollowsTheDynamicSchedule),
        ("no-host-sync-per-step", FitStepsReadNothingBackFromTheDevice),
        ("checkpoint-cpu-device", CheckpointsMoveBetweenTheCpuAndTheDevice),
        ("norms-half-inputs", NormLayersTakeHalfPrecisionInputs),
        ("mixed-dtype-groups", AnOptimizerOverMixedDTypesUpdatesEveryParameter),
        ("channels-last", ChannelsLastTrainsLikeTheStandardLayout),
        ("advice-probe", TheAdviceProbeMeasuresEveryPolicy),
    };

    /// <summary>float32, float64, float16, bfloat16 and both mixed policies train two ResNet18 steps; mixed keeps float32 masters and float32 logits.</summary>
    public static void EveryPolicyTrainsResNet18WithFloat32MastersAndLogits(Device device)
    {
        var (x, y) = CheckData.Images(16, channels: 3, size: 64);
        foreach (var policy in DTypePolicy.All)
        {
            manual_seed(1);
            using var trainer = new Trainer(ModelDescriptor.Parse("resnet18").Build(10, 3, 64).Module, device);
            trainer.Compile(new CompileOptions { Policy = policy });
            var history = trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 8, Verbose = 0 });
            Require(double.IsFinite(history["loss"][0]), $"{policy.Name}: loss {history["loss"][0]}");
            using var logits = trainer.Predict(x.narrow(0, 0, 4));
            var expected = policy == DTypePolicy.Float64 ? ScalarType.Float64 : ScalarType.Float32;
            Require(logits.dtype == expected, $"{policy.Name}: logits are {logits.dtype}, expected {expected}");
            if (trainer.Precision is MixedPrecisionStrategy mixed)
            {
                var wrong = mixed.MasterWeights.Where(m => m.Value.dtype != ScalarType.Float32).Select(m => m.Key).ToList();
                Require(wrong.Count == 0, $"{policy.Name}: masters not float32: {string.Join(", ", wrong.Take(3))}");
                Require(mixed.MasterWeights.Values.All(m => m.device_type == device.type), $"{policy.Name}: a master is not on {device}");
            }
        }
    }

    /// <summary>mixed_float16 with dynamic loss scaling: five Adam steps with the fused kernels and with the managed ones end at the same weights.</summary>
    public static void FusedAndManagedKernelsTrainAlike(Device device)
    {
        Dictionary<string, Tensor> Train(AmpKernelPreference kernels)
        {
            var (x, y) = CheckData.Images(80);
            manual_seed(2);
            using var trainer = new Trainer(SmallCnn.Create(), device);
            trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, Kernels = kernels, LossScale = LossScaleOptions.Dynamic(initialScale: 1024, growthInterval: 2) });
            trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16, Shuffle = false, Verbose = 0 });
            return trainer.GetWeights().ToDictionary(w => w.Key, w => w.Value.to(ScalarType.Float32, CPU, copy: true));
        }

        var fused = Train(AmpKernelPreference.Fused);
        var managed = Train(AmpKernelPreference.Managed);
        foreach (var (name, value) in fused)
        {
            double diff = (value - managed[name]).abs().max().item<float>();
            double scale = Math.Max(1e-3, managed[name].abs().max().item<float>());
            Require(diff / scale < 1e-3, $"{name}: fused and managed differ by {diff:G3} (scale {scale:G3})");
        }
    }

    /// <summary>A step whose gradients overflow in float16 (inputs of 6e4) changes neither the master weights nor Adam's moments and step counts.</summary>
    public static void ASkippedStepLeavesParametersAndOptimizerStateBitwiseUnchanged(Device device)
    {
        var (x, y) = CheckData.Images(48);
        x.narrow(0, 32, 16).mul_(6e4f);                       // the third batch overflows in float16
        manual_seed(3);
        using var trainer = new Trainer(SmallCnn.Create(), device);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, LossScale = LossScaleOptions.Dynamic(initialScale: 1024) });
        Dictionary<string, float[]>? before = null;
        double skippedBefore = double.NaN;
        Dictionary<string, float[]>? after = null;
        // The float32 masters and Adam's moments and step counts. (BatchNorm's running statistics are updated by the
        // forward pass, before the overflow is known, as in PyTorch: they are not part of the step.)
        var masters = ((MixedPrecisionStrategy)trainer.Precision).MasterWeights;
        Dictionary<string, float[]> Snapshot() =>
            masters.Select(m => new KeyValuePair<string, Tensor>(m.Key, m.Value)).Concat(trainer.Optimizer!.StateDict())
                .ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32, CPU).data<float>().ToArray());
        var probe = new MixFit.Callbacks.LambdaCallback
        {
            BatchBegin = (b, _) => before = b == 2 ? Snapshot() : before,
            BatchEnd = (b, logs) =>
            {
                if (b == 1)
                {
                    skippedBefore = logs["skipped_steps"];
                }
                else if (b == 2)
                {
                    after = Snapshot();
                    Require(logs["skipped_steps"] == skippedBefore + 1, $"the overflowing step was not skipped (skipped_steps {skippedBefore} -> {logs["skipped_steps"]})");
                }
            },
        };
        trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16, Shuffle = false, Verbose = 0, Callbacks = new MixFit.Callbacks.Callback[] { probe } });
        foreach (var (name, values) in before!)
        {
            Require(values.AsSpan().SequenceEqual(after![name]), $"{name} changed in the skipped step");
        }
    }

    /// <summary>Dynamic scaling from 1024 with growth every 2 steps: 1024, 1024, 2048, 2048, then an overflow halves it to 2048 and growth restarts.</summary>
    public static void TheLossScaleFollowsTheDynamicSchedule(Device device)
    {
        var (x, y) = CheckData.Images(112);
        x.narrow(0, 64, 16).mul_(6e4f);                       // step 4 overflows
        manual_seed(4);
        using var trainer = new Trainer(SmallCnn.Create(), device);
        trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, LossScale = LossScaleOptions.Dynamic(initialScale: 1024, growthInterval: 2) });
        var scales = new List<double>();
        var probe = new MixFit.Callbacks.LambdaCallback { BatchEnd = (_, logs) => scales.Add(logs["loss_scale"]) };
        trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16, Shuffle = false, Verbose = 0, Callbacks = new MixFit.Callbacks.Callback[] { probe } });
        // After each step: growth every 2 good steps; the overflow at step 4 halves the scale and resets the count.
        var expected = new double[] { 1024, 2048, 2048, 4096, 2048, 2048, 4096 };
        Require(scales.SequenceEqual(expected), $"scales {string.Join(", ", scales)}; expected {string.Join(", ", expected)}");
    }

    /// <summary>Fit reads the device the same number of times for 4 and for 8 steps per epoch: no step reads anything.</summary>
    public static void FitStepsReadNothingBackFromTheDevice(Device device)
    {
        long ReadsFor(int samples)
        {
            var (x, y) = CheckData.Images(samples);
            using var trainer = new Trainer(SmallCnn.Create(), device);
            trainer.Compile(new CompileOptions { Policy = DTypePolicy.MixedFloat16, Metrics = new[] { "accuracy" } });
            long start = HostReads.Count;
            trainer.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32, Verbose = 0 });
            return HostReads.Count - start;
        }

        long four = ReadsFor(128);
        long eight = ReadsFor(256);
        Require(four == eight, $"{four} reads for 2x4 steps, {eight} for 2x8: the steps read the device");
        Require(four <= 4, $"{four} reads for 2 epochs (expected the label check and the epoch's logs: 2 per epoch)");
    }

    /// <summary>A checkpoint written on the device loads on the CPU (and back), and both give the same outputs.</summary>
    public static void CheckpointsMoveBetweenTheCpuAndTheDevice(Device device)
    {
        var (x, y) = CheckData.Images(64);
        string file = Path.Combine(Path.GetTempPath(), $"mixfit-gpu-check-{Guid.NewGuid():N}.ckpt");
        try
        {
            manual_seed(5);
            using var onDevice = new Trainer(SmallCnn.Create(), device);
            onDevice.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16 });
            onDevice.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16, Verbose = 0 });
            onDevice.SaveCheckpoint(file, epoch: 0);
            using var onCpu = new Trainer(SmallCnn.Create(), CPU);
            onCpu.Compile(new CompileOptions { Policy = DTypePolicy.MixedBFloat16 });
            onCpu.LoadCheckpoint(file);
            using var a = onDevice.Predict(x.narrow(0, 0, 8));
            using var b = onCpu.Predict(x.narrow(0, 0, 8));
            double diff = (a - b).abs().max().item<float>();
            Require(diff < 0.05, $"outputs differ by {diff:G3} between {device} and the CPU after loading the checkpoint");
            var masters = onDevice.GetWeights();
            foreach (var (name, value) in onCpu.GetWeights())
            {
                Require(value.to(CPU).eq(masters[name].to(CPU)).all().item<bool>(), $"master {name} differs after the move");
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>BatchNorm, GroupNorm and LayerNorm keep float32 parameters and train on float16 and bfloat16 inputs.</summary>
    public static void NormLayersTakeHalfPrecisionInputs(Device device)
    {
        var (x, y) = CheckData.Images(32);
        foreach (var policy in new[] { DTypePolicy.MixedFloat16, DTypePolicy.MixedBFloat16 })
        {
            manual_seed(6);
            var model = nn.Sequential(
                ("conv1", nn.Conv2d(1, 8, 3, padding: 1)), ("bn", nn.BatchNorm2d(8)), ("relu1", nn.ReLU()),
                ("conv2", nn.Conv2d(8, 8, 3, padding: 1)), ("gn", nn.GroupNorm(2, 8)), ("relu2", nn.ReLU()),
                ("pool", nn.AdaptiveAvgPool2d(4)), ("flatten", nn.Flatten()), ("ln", nn.LayerNorm(128)), ("fc", nn.Linear(128, 10)));
            // TorchSharp 0.107's GroupNorm leaves its weight and bias uninitialised (torch.empty, no reset_parameters):
            // give them PyTorch's ones and zeros.
            var groupNorm = (TorchSharp.Modules.GroupNorm)model.named_modules().First(m => m.name == "gn").module;
            using (no_grad())
            {
                groupNorm.weight!.fill_(1);
                groupNorm.bias!.zero_();
            }

            using var trainer = new Trainer(model, device);
            trainer.Compile(new CompileOptions { Policy = policy });
            var history = trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16, Verbose = 0 });
            Require(double.IsFinite(history["loss"][0]), $"{policy.Name}: loss {history["loss"][0]}");
            foreach (var (name, parameter) in model.named_parameters().Where(p => p.name.StartsWith("bn", StringComparison.Ordinal) || p.name.StartsWith("gn", StringComparison.Ordinal) || p.name.StartsWith("ln", StringComparison.Ordinal)))
            {
                Require(parameter.dtype == ScalarType.Float32, $"{policy.Name}: {name} is {parameter.dtype}");
            }
        }
    }

    /// <summary>A bfloat16 layer inside a float32 model: fused SGD and Adam update both dtypes (CUDA's fused kernels take one dtype per call).</summary>
    public static void AnOptimizerOverMixedDTypesUpdatesEveryParameter(Device device)
    {
        var (x, y) = CheckData.Images(32);
        foreach (var optimizer in new[] { "sgd", "adam" })
        {
            manual_seed(7);
            using var trainer = new Trainer(SmallCnn.Create(), device);
            trainer.Compile(new CompileOptions
            {
                Policy = DTypePolicy.Float32,
                ModuleOverrides = new Dictionary<string, DTypePolicy> { ["fc2"] = DTypePolicy.BFloat16 },
                Optimizer = new OptimizerConfig { Name = optimizer, LearningRate = 0.5, Fused = true },
            });
            var before = trainer.Module.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().to(ScalarType.Float32, CPU, copy: true));
            trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 32, Verbose = 0 });
            foreach (var (name, parameter) in trainer.Module.named_parameters().Where(p => p.name.EndsWith("weight", StringComparison.Ordinal)))
            {
                double moved = (parameter.detach().to(ScalarType.Float32, CPU) - before[name]).abs().max().item<float>();
                Require(moved > 0, $"{optimizer}: {name} ({parameter.dtype}) did not move");
            }
        }
    }

    /// <summary>channels_last float32 training (SGD: Adam's sign-like steps would magnify rounding) ends within 1e-3 of the standard layout.</summary>
    public static void ChannelsLastTrainsLikeTheStandardLayout(Device device)
    {
        Dictionary<string, Tensor> Train(bool channelsLast)
        {
            var (x, y) = CheckData.Images(64);
            manual_seed(8);
            using var trainer = new Trainer(SmallCnn.Create(), device);
            trainer.Compile(new CompileOptions { Policy = DTypePolicy.Float32, ChannelsLast = channelsLast, Optimizer = new OptimizerConfig { Name = "sgd", LearningRate = 0.05 } });
            trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16, Shuffle = false, Verbose = 0 });
            return trainer.GetWeights().Where(w => w.Value.is_floating_point()).ToDictionary(w => w.Key, w => w.Value.to(CPU).contiguous());
        }

        var standard = Train(false);
        foreach (var (name, value) in Train(true))
        {
            double diff = (value - standard[name]).abs().max().item<float>();
            Require(diff < 1e-3, $"{name}: channels_last differs by {diff:G3}");
        }
    }

    /// <summary>The advice probe (doctor's measurement) times every policy on the device and recommends one.</summary>
    public static void TheAdviceProbeMeasuresEveryPolicy(Device device)
    {
        var workloads = MixFit.Experiments.ReferenceWorkloads.Measure(device, TextWriter.Null, new StepProbeOptions { MaxTimedSteps = 2 });
        Require(workloads.Count > 0 && workloads.Values.All(t => t.All(s => s.MsPerStep > 0)), "a workload has no positive step time");
        var (policy, reason) = MixFit.Experiments.PrecisionAdvice.Recommend(workloads);
        Require(!string.IsNullOrWhiteSpace(reason), $"no reason given for {policy.Name}");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new CheckFailedException(message);
        }
    }
}
