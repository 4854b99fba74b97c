using MixFit.Callbacks;
using MixFit.Checkpoints;
using MixFit.TestHost;
using MixFit.Tests.Support;
using static TorchSharp.torch;

namespace MixFit.Tests.Checkpoints;

/// <summary>An interrupted fit resumed with BackupAndRestore reaches exactly the weights of an uninterrupted one.</summary>
public sealed class ResumeTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-resume-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static void AssertBitIdentical(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, value) in expected)
        {
            Assert.True(value.Equals(actual[name]), $"{name} differs after resuming");
        }
    }

    [Fact]
    public void A_fit_that_throws_after_epoch_two_resumes_to_bit_identical_weights()
    {
        var uninterrupted = ResumeScenario.Run(Path.Combine(dir, "a"));
        Assert.Null(uninterrupted.RestoredEpoch);
        Assert.Equal(new[] { 0, 1, 2, 3 }, uninterrupted.EpochsRun);
        string backup = Path.Combine(dir, "b");
        var e = Assert.Throws<CallbackException>(() => ResumeScenario.Run(backup, ResumeScenario.Interruption.Throw, interruptAfter: 1));
        Assert.Contains("interrupted after epoch 1", e.Message);
        Assert.True(File.Exists(Path.Combine(backup, "latest.ckpt.safetensors")));

        // The resumed fit restored epoch 1's backup and trained epochs 2 and 3 only: half the steps, same bits.
        var resumed = ResumeScenario.Run(backup);
        Assert.Equal(1, resumed.RestoredEpoch);
        Assert.Equal(new[] { 2, 3 }, resumed.EpochsRun);
        Assert.Equal(uninterrupted.StepsRun / 2, resumed.StepsRun);
        AssertBitIdentical(uninterrupted.Weights, resumed.Weights);
        Assert.False(File.Exists(Path.Combine(backup, "latest.ckpt.safetensors")), "a completed fit deletes its backup");
    }

    [Fact]
    public void A_fit_interrupted_inside_an_epoch_resumes_at_the_next_step_to_bit_identical_weights()
    {
        // Keras' BackupAndRestore(save_freq=N): stopped after step 3 of epoch 2 (8 steps an epoch), the backup records the
        // position, and the resumed fit trains the 5 remaining steps of epoch 2 and then epochs 3 and 4.
        var uninterrupted = ResumeScenario.Run(Path.Combine(dir, "full"));
        string backup = Path.Combine(dir, "inside");
        var interrupted = ResumeScenario.Run(backup, ResumeScenario.Interruption.InsideEpoch, interruptAfter: 1, interruptStep: 3);
        Assert.Equal(new[] { 0, 1 }, interrupted.EpochsRun);
        Assert.Equal(8 + 3, interrupted.StepsRun);
        Assert.True(File.Exists(Path.Combine(backup, "latest.ckpt.safetensors")), "an interrupted fit keeps its backup");

        var resumed = ResumeScenario.Run(backup);
        Assert.Equal(1, resumed.RestoredEpoch);
        Assert.Equal(3, resumed.RestoredStep);
        Assert.Equal(new[] { 1, 2, 3 }, resumed.EpochsRun);
        Assert.Equal(uninterrupted.StepsRun - interrupted.StepsRun, resumed.StepsRun);
        AssertBitIdentical(uninterrupted.Weights, resumed.Weights);
    }

    [Fact]
    public void A_process_killed_by_sigkill_after_epoch_two_resumes_to_bit_identical_weights()
    {
        (int ExitCode, string Output) Run(params string[] args)
        {
            var (code, output, error) = TestHostProcess.Run(args);
            Assert.True(code is 0 or 137 or -9 || error.Length == 0, error);
            return (code, output);
        }

        string expectedPath = Path.Combine(dir, "expected.safetensors");
        var fresh = Run(Path.Combine(dir, "fresh"), expectedPath);
        Assert.Equal((0, "restored=none epochs=0,1,2,3 steps=32"), fresh);

        string backup = Path.Combine(dir, "killed");
        string resumedPath = Path.Combine(dir, "resumed.safetensors");
        var killed = Run(backup, resumedPath, "1");
        Assert.Equal(137, killed.ExitCode);
        Assert.False(File.Exists(resumedPath));
        Assert.True(File.Exists(Path.Combine(backup, "latest.ckpt.safetensors")));
        Assert.Empty(Directory.GetFiles(backup, "*.tmp"));

        // The new process restored epoch 1's backup and trained only epochs 2 and 3.
        Assert.Equal((0, "restored=1 epochs=2,3 steps=16"), Run(backup, resumedPath));
        AssertBitIdentical(SafeTensors.Load(expectedPath).Tensors, SafeTensors.Load(resumedPath).Tensors);
    }
}
