using MixFit.Applications;
using MixFit.Kernels;
using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tests.Support;
using TorchSharp;
using TorchSharp.Modules;
using Adam = MixFit.Optimizers.Adam;
using AdamW = MixFit.Optimizers.AdamW;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MixFit.Tests.Precision;

public class MixedPrecisionStrategyTests
{
    public static TheoryData<string> AllPolicies => new() { "float32", "mixed_bfloat16", "mixed_float16" };

    [Theory]
    [MemberData(nameof(AllPolicies))]
    public void Torchvision_resnet18_trains_one_step_with_float32_masters_and_float32_logits(string policyName)
    {
        manual_seed(0);
        var model = torchvision.models.resnet18(num_classes: 10);
        using var precision = PrecisionStrategy.Create(policyName);
        var parameters = precision.Prepare(model, CPU);
        Assert.All(parameters, p => Assert.Equal(ScalarType.Float32, p.dtype));

        var policy = precision.Policy;
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(policy.ComputeDType, named["conv1.weight"].dtype);
        Assert.Equal(policy.ComputeDType, named["fc.weight"].dtype);
        Assert.Equal(ScalarType.Float32, named["bn1.weight"].dtype);
        var buffers = model.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        Assert.Equal(ScalarType.Float32, buffers["bn1.running_var"].dtype);
        Assert.Equal(ScalarType.Int64, buffers["bn1.num_batches_tracked"].dtype);

        using var optimizer = new Adam(parameters, 1e-3);
        var before = T.Values(parameters[0]);
        model.train();
        var x = randn(2, 3, 64, 64);
        var y = tensor(new long[] { 1, 7 });

        // Under mixed_float16 the first steps may overflow at the initial scale of 32768: dynamic scaling then halves
        // the scale and skips, until a step applies. Everything else applies at once.
        int attempts = 0;
        bool applied = false;
        while (!applied && attempts++ < 8)
        {
            using var scope = NewDisposeScope();
            var input = precision.ConvertInput(x);
            Assert.Equal(policy.ComputeDType, input.dtype);
            Assert.Equal(ScalarType.Int64, precision.ConvertInput(y).dtype);
            var logits = precision.ConvertOutput(model.call(input));
            Assert.Equal(ScalarType.Float32, logits.dtype);
            var loss = F.cross_entropy(logits, y);
            Assert.True(float.IsFinite(loss.item<float>()));
            precision.Backward(loss);
            applied = !precision.Step(optimizer).IsSkipped();
        }

        Assert.True(applied, "no step applied in 8 iterations");
        if (policy != DTypePolicy.MixedFloat16)
        {
            Assert.Equal(1, attempts);
        }
        else
        {
            Assert.Equal(32768 / Math.Pow(2, attempts - 1), precision.Scaler.GetScale());
        }

        Assert.NotEqual(before, T.Values(parameters[0]));
        if (policy.IsMixed)
        {
            var masters = ((MixedPrecisionStrategy)precision).MasterWeights;
            T.Close(T.Values(masters["conv1.weight"]), named["conv1.weight"], policy.ComputeDType == ScalarType.Float16 ? 1e-3 : 1e-2);
        }
    }

    [Fact]
    public void A_float32_override_keeps_the_output_layer_in_float32_and_casts_its_input()
    {
        var model = SmallCnn.Create();
        var options = new PrecisionOptions { ModuleOverrides = new Dictionary<string, DTypePolicy> { ["fc2"] = DTypePolicy.Float32 } };
        using var precision = PrecisionStrategy.Create(DTypePolicy.MixedBFloat16, options);
        var parameters = precision.Prepare(model, CPU);
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(ScalarType.BFloat16, named["fc1.weight"].dtype);
        Assert.Equal(ScalarType.Float32, named["fc2.weight"].dtype);
        Assert.Equal(DTypePolicy.Float32, precision.ModulePolicies["fc2"]);

        using var scope = NewDisposeScope();
        var output = model.call(precision.ConvertInput(randn(4, 1, 28, 28)));
        Assert.Equal(ScalarType.Float32, output.dtype);
        precision.Backward(output.pow(2).mean());
        using var optimizer = new Sgd(parameters, 0.1);
        Assert.False(precision.Step(optimizer).IsSkipped());
    }

    [Fact]
    public void An_override_for_a_missing_module_names_it_and_lists_real_paths()
    {
        var options = new PrecisionOptions { ModuleOverrides = new Dictionary<string, DTypePolicy> { ["head"] = DTypePolicy.Float32 } };
        using var precision = PrecisionStrategy.Create(DTypePolicy.MixedFloat16, options);
        var e = Assert.Throws<ArgumentException>(() => precision.Prepare(SmallCnn.Create(), CPU));
        Assert.Contains("\"head\"", e.Message);
        Assert.Contains("fc2", e.Message);
    }

    [Fact]
    public void Float64_inputs_are_never_silently_down_cast()
    {
        using var precision = PrecisionStrategy.Create("mixed_bfloat16");
        precision.Prepare(SmallCnn.Create(), CPU);
        var e = Assert.Throws<ArgumentException>(() => precision.ConvertInput(zeros(1, 1, 28, 28, dtype: ScalarType.Float64)));
        Assert.Contains("float64", e.Message);
    }

    [Fact]
    public void Mixed_float16_keeps_a_two_to_the_minus_14_update_that_float16_weights_lose()
    {
        static float Train(string policyName)
        {
            var model = nn.Sequential(("linear", nn.Linear(1, 1, hasBias: false)));
            using (no_grad())
            {
                model.parameters().First().fill_(1.0);
            }

            using var precision = PrecisionStrategy.Create(policyName, new PrecisionOptions { LossScale = LossScaleOptions.None });
            var parameters = precision.Prepare(model, CPU);
            using var sgd = new Sgd(parameters, Math.Pow(2, -14));
            var output = precision.ConvertOutput(model.call(precision.ConvertInput(ones(1, 1))));
            precision.Backward(output.sum());
            precision.Step(sgd);
            return T.Values(parameters[0])[0];
        }

        Assert.Equal(1 - MathF.Pow(2, -14), Train("mixed_float16"));
        Assert.Equal(1f, Train("float16"));
    }

    [Fact]
    public void Keras_fifteen_sigmoid_layers_underflow_without_scaling_and_learn_with_it()
    {
        static float FirstKernelAfterOneStep(LossScaleOptions scaling)
        {
            var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (int i = 0; i < 15; i++)
            {
                var linear = nn.Linear(1, 1);
                using (no_grad())
                {
                    linear.weight!.fill_(1.0);
                    linear.bias!.fill_(0.0);
                }

                layers.Add(($"dense{i}", linear));
                layers.Add(($"sigmoid{i}", nn.Sigmoid()));
            }

            var model = nn.Sequential(layers);
            using var precision = PrecisionStrategy.Create(DTypePolicy.MixedFloat16, new PrecisionOptions { LossScale = scaling });
            var parameters = precision.Prepare(model, CPU);
            using var sgd = new Sgd(parameters, 1e9);
            var y = precision.ConvertOutput(model.call(precision.ConvertInput(ones(1, 1))));
            precision.Backward(F.mse_loss(y, ones(1, 1)));
            precision.Step(sgd);
            return T.Values(((MixedPrecisionStrategy)precision).MasterWeights["dense0.weight"])[0];
        }

        Assert.Equal(1f, FirstKernelAfterOneStep(LossScaleOptions.None));
        Assert.NotEqual(1f, FirstKernelAfterOneStep(new LossScaleOptions()));
    }

    [Fact]
    public void Batch_norm_statistics_of_variance_70000_stay_finite_under_mixed_float16()
    {
        var model = nn.Sequential(("bn", nn.BatchNorm1d(1)));
        using var precision = PrecisionStrategy.Create("mixed_float16");
        precision.Prepare(model, CPU);
        model.train();

        // Values of about +-264.6 fit float16; their variance, 70000, does not (max 65504).
        var x = tensor(new[] { 264.575f, -264.575f, 264.575f, -264.575f }).reshape(4, 1);
        using (var scope = NewDisposeScope())
        {
            var output = model.call(precision.ConvertInput(x));
            Assert.Equal(ScalarType.Float16, output.dtype);
            Assert.True(output.isfinite().all().item<bool>());
        }

        var runningVar = model.named_buffers().Single(b => b.name == "bn.running_var").buffer;
        Assert.Equal(ScalarType.Float32, runningVar.dtype);
        float expected = 0.9f + (0.1f * 70000f * 4 / 3);
        Assert.Equal(expected, runningVar.item<float>(), expected * 1e-3);

        var gamma = model.named_parameters().Single(p => p.name == "bn.weight").parameter;
        using (no_grad())
        {
            gamma.fill_(70000);
        }

        Assert.Equal(70000f, gamma.item<float>());
    }

    [Fact]
    public void Group_norm_with_variance_70000_and_a_gamma_of_70000_gives_no_nan_under_mixed_float16()
    {
        var model = nn.Sequential(("gn", GroupNorm(1, 2)));
        using var precision = PrecisionStrategy.Create("mixed_float16");
        precision.Prepare(model, CPU);
        var gamma = model.named_parameters().Single(p => p.name == "gn.weight").parameter;
        Assert.Equal(ScalarType.Float32, gamma.dtype);

        var x = tensor(new[] { 264.575f, -264.575f, -264.575f, 264.575f }).reshape(1, 2, 2);
        var output = model.call(precision.ConvertInput(x));
        Assert.False(output.isnan().any().item<bool>());
        T.Close(new float[] { 1, -1, -1, 1 }, output, 1e-2);

        using (no_grad())
        {
            gamma.fill_(70000);
        }

        // The float32 gamma holds 70000 (float16 would make it inf). With it, the normalised +-1 become +-70000,
        // computed in float32 and rounded to the float16 output: +-inf with their signs, never NaN.
        Assert.Equal(70000f, gamma.max().item<float>());
        var scaled = model.call(precision.ConvertInput(x));
        Assert.Equal(ScalarType.Float16, scaled.dtype);
        Assert.False(scaled.isnan().any().item<bool>());
        Assert.Equal(new[] { float.PositiveInfinity, float.NegativeInfinity, float.NegativeInfinity, float.PositiveInfinity }, T.Values(scaled));

        // A gamma the float16 output can hold (30000) gives the exact values.
        using (no_grad())
        {
            gamma.fill_(30000);
        }

        T.Close(new float[] { 30000, -30000, -30000, 30000 }, model.call(precision.ConvertInput(x)), 30);
    }

    public static TheoryData<string, string> NormalisationCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var policy in new[] { "mixed_float16", "mixed_bfloat16" })
        {
            foreach (var layer in new[] { "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm2d" })
            {
                data.Add(policy, layer);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(NormalisationCases))]
    public void Every_normalisation_layer_computes_statistics_of_variance_70000_correctly(string policyName, string layer)
    {
        nn.Module<Tensor, Tensor> norm = layer switch
        {
            "BatchNorm2d" => nn.BatchNorm2d(4),
            "LayerNorm" => nn.LayerNorm(new long[] { 2, 2 }),
            "GroupNorm" => GroupNorm(2, 4),
            _ => nn.InstanceNorm2d(4, affine: true),
        };
        var model = nn.Sequential(("norm", norm));
        using var precision = PrecisionStrategy.Create(policyName);
        precision.Prepare(model, CPU);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));

        // Every normalised group holds +-264.575: variance 70000, which float16 cannot hold and bfloat16 rounds.
        var x = tensor(new[] { 264.575f, -264.575f, -264.575f, 264.575f }).reshape(1, 1, 2, 2).expand(2, 4, 2, 2).contiguous();
        var output = model.call(precision.ConvertInput(x));
        Assert.Equal(precision.Policy.ComputeDType, output.dtype);
        Assert.True(output.isfinite().all().item<bool>());
        Assert.Equal(1f, output.abs().to(ScalarType.Float32).max().item<float>(), 1e-2f);
    }

    [Theory]
    [InlineData("mixed_bfloat16")]
    [InlineData("mixed_float16")]
    public void Checkpoints_hold_float32_weights_interchangeable_with_float32_runs(string policyName)
    {
        manual_seed(1);
        var mixedModel = SmallCnn.Create();
        var reference = SmallCnn.Create();
        reference.load_state_dict(mixedModel.state_dict());
        using var mixed = PrecisionStrategy.Create(policyName);
        mixed.Prepare(mixedModel, CPU);

        var state = mixed.StateDict();
        Assert.All(state.Where(kv => kv.Key.EndsWith("weight", StringComparison.Ordinal)), kv => Assert.Equal(ScalarType.Float32, kv.Value.dtype));
        foreach (var (name, value) in reference.state_dict())
        {
            Assert.True(value.Equals(state[name]), $"{name} is not bit-identical to the float32 original");
        }

        using var plain = PrecisionStrategy.Create("float32");
        var target = SmallCnn.Create();
        plain.Prepare(target, CPU);
        plain.LoadStateDict(state);
        Assert.True(target.state_dict()["fc1.weight"].Equals(reference.state_dict()["fc1.weight"]));

        using var back = PrecisionStrategy.Create(policyName);
        var other = SmallCnn.Create();
        back.Prepare(other, CPU);
        back.LoadStateDict(plain.StateDict());
        Assert.True(back.StateDict()["conv1.weight"].Equals(reference.state_dict()["conv1.weight"]));
        Assert.Equal(DTypePolicy.Parse(policyName).ComputeDType, other.named_parameters().First().parameter.dtype);
    }

    [Fact]
    public void Frozen_parameters_stay_frozen_and_are_not_handed_to_the_optimizer()
    {
        var model = SmallCnn.Create();
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.StartsWith("conv1", StringComparison.Ordinal))
            {
                p.requires_grad = false;
            }
        }

        using var precision = PrecisionStrategy.Create("mixed_bfloat16");
        var parameters = precision.Prepare(model, CPU);
        Assert.Equal(model.parameters().Count() - 2, parameters.Count);
        Assert.False(model.named_parameters().Single(p => p.name == "conv1.weight").parameter.requires_grad);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Names), MemberType = typeof(KernelCases))]
    public void Gradient_accumulation_equals_one_step_on_the_whole_batch(string kernels)
    {
        var pref = kernels == "fused" ? AmpKernelPreference.Fused : AmpKernelPreference.Managed;
        manual_seed(3);
        var x = randn(8, 1, 28, 28);
        var y = randint(0, 10, new long[] { 8 });
        var initial = SmallCnn.Create();
        initial.eval();

        float[] Train(int microBatches)
        {
            var model = SmallCnn.Create();
            model.load_state_dict(initial.state_dict());
            model.eval();
            using var precision = PrecisionStrategy.Create(DTypePolicy.MixedBFloat16, new PrecisionOptions { Kernels = pref });
            var parameters = precision.Prepare(model, CPU);
            using var sgd = new Sgd(parameters, 0.1, fused: pref != AmpKernelPreference.Managed);
            int size = 8 / microBatches;
            for (int i = 0; i < microBatches; i++)
            {
                using var scope = NewDisposeScope();
                var logits = precision.ConvertOutput(model.call(precision.ConvertInput(x.narrow(0, i * size, size))));
                precision.Backward(F.cross_entropy(logits, y.narrow(0, i * size, size)) / microBatches);
            }

            precision.Step(sgd);
            Assert.Equal(1, precision.Scaler.Iterations);
            return T.Values(((MixedPrecisionStrategy)precision).MasterWeights["fc1.weight"]);
        }

        var whole = Train(1);
        var accumulated = Train(2);
        var maxDiff = whole.Zip(accumulated, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff < 1e-4, $"max difference {maxDiff}");
    }

    [Fact]
    public void Fused_and_managed_kernels_train_to_the_same_weights()
    {
        manual_seed(5);
        var x = randn(16, 1, 28, 28);
        var y = randint(0, 10, new long[] { 16 });
        var initial = SmallCnn.Create();

        float[] Train(AmpKernelPreference pref)
        {
            var model = SmallCnn.Create();
            model.load_state_dict(initial.state_dict());
            using var precision = PrecisionStrategy.Create(DTypePolicy.MixedFloat16, new PrecisionOptions { Kernels = pref });
            var parameters = precision.Prepare(model, CPU);
            using var adam = new AdamW(parameters, 1e-3, fused: pref != AmpKernelPreference.Managed);
            for (int step = 0; step < 3; step++)
            {
                using var scope = NewDisposeScope();
                var logits = precision.ConvertOutput(model.call(precision.ConvertInput(x)));
                precision.Backward(F.cross_entropy(logits, y));
                precision.Step(adam, new GradientClipping(MaxNorm: 1.0));
            }

            return T.Values(((MixedPrecisionStrategy)precision).MasterWeights["fc2.weight"]);
        }

        var fused = Train(AmpKernelPreference.Fused);
        var managed = Train(AmpKernelPreference.Managed);
        var maxDiff = fused.Zip(managed, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff < 1e-5, $"max difference {maxDiff}");
    }

    [Theory]
    [InlineData("float32")]
    [InlineData("mixed_float16")]
    public void Fifty_training_steps_leak_no_tensors(string policyName)
    {
        var model = SmallCnn.Create();
        using var precision = PrecisionStrategy.Create(policyName);
        var parameters = precision.Prepare(model, CPU);
        using var adam = new Adam(parameters);
        var x = randn(4, 1, 28, 28);
        var y = randint(0, 10, new long[] { 4 });

        void Step()
        {
            using var scope = NewDisposeScope();
            var logits = precision.ConvertOutput(model.call(precision.ConvertInput(x)));
            precision.Backward(F.cross_entropy(logits, y));
            precision.Step(adam, new GradientClipping(MaxNorm: 5));
        }

        // Earlier tests leave unreferenced tensors for the finalizer; collect them so only this loop is measured.
        static long LiveTensors()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return Tensor.TotalCount;
        }

        Step();
        Step();
        long before = LiveTensors();

        // No collection during the loop: an undisposed tensor must show up in the count, not be finalized away.
        Assert.True(GC.TryStartNoGCRegion(64 << 20));
        long after;
        try
        {
            for (int i = 0; i < 50; i++)
            {
                Step();
            }

            after = Tensor.TotalCount;
        }
        finally
        {
            GC.EndNoGCRegion();
        }

        Assert.Equal(before, after);
    }

    /// <summary>TorchSharp 0.107's GroupNorm leaves weight and bias uninitialised (PyTorch: ones and zeros).</summary>
    private static nn.Module<Tensor, Tensor> GroupNorm(int groups, int channels)
    {
        var norm = nn.GroupNorm(groups, channels);
        using (no_grad())
        {
            norm.weight!.fill_(1);
            norm.bias!.fill_(0);
        }

        return norm;
    }

    public static TheoryData<string, string> MixedPoliciesAndKernels => new()
    {
        { "mixed_float16", "fused" }, { "mixed_float16", "managed" },
        { "mixed_bfloat16", "fused" }, { "mixed_bfloat16", "managed" },
    };

    /// <summary>
    /// The master-weight invariant stated directly: after every applied step the working copy is the updated float32
    /// master cast to the compute dtype, bit for bit, and the master moved. Copying the masters into the working copy
    /// before the optimizer step (a stale working copy) breaks the equality at the first step.
    /// </summary>
    [Theory]
    [MemberData(nameof(MixedPoliciesAndKernels))]
    public void After_a_step_the_working_copy_is_the_updated_masters_cast_bit_for_bit(string policyName, string kernels)
    {
        manual_seed(11);
        var model = SmallCnn.Create();
        var pref = KernelCases.IsFused(kernels) ? AmpKernelPreference.Fused : AmpKernelPreference.Managed;
        // A modest static scale: every step applies (no skipped step can hide a stale copy).
        using var precision = PrecisionStrategy.Create(policyName, new PrecisionOptions { Kernels = pref, LossScale = LossScaleOptions.Fixed(128) });
        var parameters = precision.Prepare(model, CPU);
        var masters = ((MixedPrecisionStrategy)precision).MasterWeights;
        var compute = precision.Policy.ComputeDType;
        using var adam = new Adam(parameters, 1e-2, fused: KernelCases.IsFused(kernels));
        var x = randn(8, 1, 28, 28);
        var y = randint(0, 10, new long[] { 8 });

        for (int step = 0; step < 3; step++)
        {
            var before = masters.ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            using var scope = NewDisposeScope();
            var logits = precision.ConvertOutput(model.call(precision.ConvertInput(x)));
            precision.Backward(F.cross_entropy(logits, y));
            Assert.False(precision.Step(adam).IsSkipped());

            var working = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            Assert.NotEmpty(masters);
            foreach (var (name, master) in masters)
            {
                Assert.Equal(ScalarType.Float32, master.dtype);
                Assert.Equal(compute, working[name].dtype);
                Assert.True(master.to(compute).eq(working[name]).all().item<bool>(), $"step {step}: {name}'s working copy is not its master cast to {compute}");
                Assert.False(master.eq(before[name]).all().item<bool>(), $"step {step}: {name}'s master did not move");
            }
        }
    }
}
