using System.CommandLine;
using MixFit.Experiments;

namespace MixFit.Cli;

/// <summary><c>mixfit doctor</c>: versions, devices, CPU precision features, measured training steps per policy, and the policy to use (<see cref="DoctorJob"/>).</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var command = new Command("doctor", "Print versions, devices and CPU precision features, measure a training step per policy on two reference workloads, and recommend a policy.");
        command.SetAction(_ => CommandGuard.Run(() => DoctorJob.Run(Console.Out)));
        return command;
    }
}
