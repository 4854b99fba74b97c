using System.Diagnostics;
using MixFit.Callbacks;
using MixFit.Checkpoints;
using MixFit.TestHost;
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
        string backup = Path.Combine(dir, "b");
        var e = Assert.Throws<CallbackException>(() => ResumeScenario.Run(backup, ResumeScenario.Interruption.Throw, interruptAfter: 1));
        Assert.Contains("interrupted after epoch 1", e.Message);
        Assert.True(File.Exists(Path.Combine(backup, "latest.ckpt.safetensors")));

        var resumed = ResumeScenario.Run(backup);
        AssertBitIdentical(uninterrupted, resumed);
        Assert.False(File.Exists(Path.Combine(backup, "latest.ckpt.safetensors")), "a completed fit deletes its backup");
    }

    [Fact]
    public void A_process_killed_by_sigkill_after_epoch_two_resumes_to_bit_identical_weights()
    {
        string host = Path.Combine(AppContext.BaseDirectory, "MixFit.TestHost.dll");
        Assert.True(File.Exists(host), $"test host not found at {host}");

        int Run(params string[] args)
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
            info.ArgumentList.Add(host);
            foreach (var arg in args)
            {
                info.ArgumentList.Add(arg);
            }

            using var process = Process.Start(info)!;
            string stderr = process.StandardError.ReadToEnd();
            process.StandardOutput.ReadToEnd();
            Assert.True(process.WaitForExit(300_000), "the test host did not finish in 5 minutes");
            Assert.True(process.ExitCode is 0 or 137 or -9 || stderr.Length == 0, stderr);
            return process.ExitCode;
        }

        string expectedPath = Path.Combine(dir, "expected.safetensors");
        Assert.Equal(0, Run(Path.Combine(dir, "fresh"), expectedPath));

        string backup = Path.Combine(dir, "killed");
        string resumedPath = Path.Combine(dir, "resumed.safetensors");
        int killed = Run(backup, resumedPath, "1");
        Assert.Equal(137, killed);
        Assert.False(File.Exists(resumedPath));
        Assert.True(File.Exists(Path.Combine(backup, "latest.ckpt.safetensors")));
        Assert.Empty(Directory.GetFiles(backup, "*.tmp"));

        Assert.Equal(0, Run(backup, resumedPath));
        AssertBitIdentical(SafeTensors.Load(expectedPath).Tensors, SafeTensors.Load(resumedPath).Tensors);
    }
}
