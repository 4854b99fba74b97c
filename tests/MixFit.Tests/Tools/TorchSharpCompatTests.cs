using MixFit.Native;
using MixFit.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace MixFit.Tests.Tools;

/// <summary>
/// The TorchSharp entry points that tools/torchsharp-compat rewrites for a newer libtorch, called through whichever
/// shim this run loaded: TorchSharp's own (libtorch 2.10) in a plain run, the one tools/current-libtorch/test.sh built
/// against libtorch 2.14 (with the compat replacements) in that run. Both must give the same answers.
/// </summary>
public sealed class TorchSharpCompatTests
{
    /// <summary>y = x^3 with a hand-written backward that uses a saved input: 3 x^2 * dy.</summary>
    private sealed class Cube : autograd.SingleTensorFunction<Cube>
    {
        public override string Name => "Cube";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            ctx.save_for_backward(new List<Tensor> { x });
            return x.pow(3);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var x = ctx.get_saved_variables()[0];
            return new List<Tensor> { grad_output * 3 * x.pow(2) };
        }
    }

    [Fact]
    public void A_custom_autograd_function_gets_its_hand_written_gradient_and_chains_with_builtin_ops()
    {
        TorchRuntime.EnsureLoaded();
        for (int round = 0; round < 3; round++)   // nodes are made and released again each round
        {
            using var scope = NewDisposeScope();
            var x = tensor(new float[] { -2, 0.5f, 3 }, requires_grad: true);
            var y = Cube.apply(x * 2);             // the node's next edge is a built-in MulBackward
            y.sum().backward();
            // d/dx (2x)^3 = 24 x^2
            Assert.Equal(new float[] { 96, 6, 216 }, x.grad!.data<float>().ToArray());
            Assert.Equal(new float[] { -64, 1, 216 }, y.detach().data<float>().ToArray());
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    [Fact]
    public void A_custom_function_under_no_grad_builds_no_graph()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1, 2 }, requires_grad: true);
        using (no_grad())
        {
            var y = Cube.apply(x);
            Assert.False(y.requires_grad);
            Assert.Equal(new float[] { 1, 8 }, y.data<float>().ToArray());
        }
    }

    [Fact]
    public void An_unnamed_tensor_reports_no_names_and_dropping_names_keeps_its_values()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var x = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        Assert.False(x.has_names());
        var dropped = x.rename(null);
        Assert.False(dropped.has_names());
        Assert.Equal(x.data<float>().ToArray(), dropped.data<float>().ToArray());
        Assert.Equal(new long[] { 2, 3 }, dropped.shape);
    }

    [Fact]
    public void Naming_a_dimension_either_works_or_fails_naming_the_libtorch_that_removed_named_tensors()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var x = zeros(2, 3);
        Exception? failure = null;
        Tensor? named = null;
        try
        {
            named = x.rename(new[] { "rows", "columns" });
        }
        catch (Exception e)
        {
            failure = e;
        }

        if (failure is null)
        {
            // A libtorch with named tensors (2.10, the packaged one, has them).
            Assert.True(named!.has_names());
            Assert.Equal(new[] { "rows", "columns" }, named.names);
            Assert.False(ExpectedLibTorch.IsExternal && ExpectedLibTorch.MajorMinor == "2.14", "libtorch 2.14 has no named tensors, yet naming worked");
        }
        else
        {
            Assert.Contains("needs named tensors", failure.Message);
            Assert.Contains($"libtorch {TorchRuntime.LibTorchVersion}", failure.Message);
            Assert.NotEqual("2.10.0", TorchRuntime.LibTorchVersion);     // the packaged libtorch has them
        }
    }
}
