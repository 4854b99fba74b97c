using MixFit.Optimizers;
using MixFit.Precision;
using MixFit.Tests.Support;
using MixFit.Training;
using static TorchSharp.torch;

namespace MixFit.Tests.Optimizers;

/// <summary>An optimizer over parameters of two dtypes (a per-layer policy override) updates both, fused or managed.</summary>
public class MixedDTypeGroupsTests
{
    private static (float Fc1, float Fc2) ChangeAfterOneStep(string optimizer, bool fused)
    {
        var (x, y) = TinyProblems.FashionMnist(32);
        using var trainer = new Trainer(TinyProblems.Mlp(2, dropout: 0), CPU);
        trainer.Compile(new CompileOptions
        {
            Policy = DTypePolicy.Float32,
            ModuleOverrides = new Dictionary<string, DTypePolicy> { ["fc2"] = DTypePolicy.BFloat16 },
            Optimizer = new OptimizerConfig { Name = optimizer, LearningRate = 0.5, Fused = fused },
        });
        var parameters = trainer.Module.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(ScalarType.BFloat16, parameters["fc2.weight"].dtype);
        Assert.Equal(ScalarType.Float32, parameters["fc1.weight"].dtype);
        using var fc1 = parameters["fc1.weight"].detach().to(ScalarType.Float32, copy: true);
        using var fc2 = parameters["fc2.weight"].detach().to(ScalarType.Float32, copy: true);
        trainer.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 32, Shuffle = false, Verbose = 0 });
        using var d1 = (parameters["fc1.weight"].detach().to(ScalarType.Float32) - fc1).abs().max();
        using var d2 = (parameters["fc2.weight"].detach().to(ScalarType.Float32) - fc2).abs().max();
        return (d1.item<float>(), d2.item<float>());
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    public void A_fused_step_over_float32_and_bfloat16_parameters_updates_both_like_the_managed_one(string optimizer)
    {
        var managed = ChangeAfterOneStep(optimizer, fused: false);
        var fused = ChangeAfterOneStep(optimizer, fused: true);
        Assert.True(managed.Fc2 > 1e-3, $"managed fc2 change {managed.Fc2}");
        Assert.True(fused.Fc2 > 1e-3, $"fused fc2 change {fused.Fc2} (managed {managed.Fc2})");
        Assert.Equal(managed.Fc1, fused.Fc1, 1e-5f);
        Assert.Equal(managed.Fc2, fused.Fc2, 2e-2f);
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, 320, 0.0)]
    [InlineData(ScalarType.Float16, 65, 0.9)]
    public void Fused_sgd_updates_every_element_of_a_half_precision_parameter_on_the_cpu(ScalarType dtype, long size, double momentum)
    {
        // libtorch 2.10's CPU _fused_sgd_ skips whole SIMD blocks of half-precision tensors: MixFit routes them around it
        // there; on libtorch 2.14 (tools/current-libtorch/test.sh) the fixed kernel itself runs, and must update them all.
        Tensor Trained(bool fused)
        {
            manual_seed(4);
            var p = new TorchSharp.Modules.Parameter(randn(size).to(dtype));
            using var sgd = new Sgd(new[] { p }, learningRate: 0.5, momentum: momentum, fused: fused);
            for (int step = 0; step < 2; step++)
            {
                p.grad = (randn(size) * 0.1).to(dtype);
                sgd.Step();
            }

            return p.detach().to(ScalarType.Float32);
        }

        manual_seed(4);
        using var start = randn(size).to(dtype).to(ScalarType.Float32);
        using var managed = Trained(fused: false);
        using var fusedResult = Trained(fused: true);
        using var moved = (fusedResult - start).abs().gt(0).sum();
        Assert.True(moved.item<long>() > size * 9 / 10, $"{moved.item<long>()} of {size} elements moved");
        Assert.True(fusedResult.allclose(managed, rtol: 1e-2, atol: 1e-2));
    }
}
