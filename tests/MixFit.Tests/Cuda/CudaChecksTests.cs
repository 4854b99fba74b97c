using MixFit.GpuChecks;
using MixFit.Tests.Support;
using static TorchSharp.torch;

namespace MixFit.Tests.Cuda;

/// <summary>
/// The CUDA issue's checks (bench/MixFit.GpuChecks, the same code the GPU kit runs) on the CUDA device, where there
/// is one; skipped with the reason elsewhere. Each check's own logic is exercised on the CPU by
/// <see cref="CudaChecksOnTheCpuTests"/>.
/// </summary>
[Trait("Category", "Cuda")]
public class CudaChecksTests
{
    [CudaFact]
    public void Every_policy_trains_resnet18_with_float32_masters_and_logits() => Checks.EveryPolicyTrainsResNet18WithFloat32MastersAndLogits(CUDA);

    [CudaFact]
    public void Fused_and_managed_kernels_train_alike() => Checks.FusedAndManagedKernelsTrainAlike(CUDA);

    [CudaFact]
    public void A_skipped_step_leaves_parameters_and_optimizer_state_bitwise_unchanged() => Checks.ASkippedStepLeavesParametersAndOptimizerStateBitwiseUnchanged(CUDA);

    [CudaFact]
    public void The_loss_scale_follows_the_dynamic_schedule() => Checks.TheLossScaleFollowsTheDynamicSchedule(CUDA);

    [CudaFact]
    public void Fit_steps_read_nothing_back_from_the_device() => Checks.FitStepsReadNothingBackFromTheDevice(CUDA);

    [CudaFact]
    public void Checkpoints_move_between_the_cpu_and_the_device() => Checks.CheckpointsMoveBetweenTheCpuAndTheDevice(CUDA);

    [CudaFact]
    public void Norm_layers_take_half_precision_inputs() => Checks.NormLayersTakeHalfPrecisionInputs(CUDA);

    [CudaFact]
    public void An_optimizer_over_mixed_dtypes_updates_every_parameter() => Checks.AnOptimizerOverMixedDTypesUpdatesEveryParameter(CUDA);

    [CudaFact]
    public void Channels_last_trains_like_the_standard_layout() => Checks.ChannelsLastTrainsLikeTheStandardLayout(CUDA);

    [CudaFact]
    public void The_advice_probe_measures_every_policy() => Checks.TheAdviceProbeMeasuresEveryPolicy(CUDA);
}

/// <summary>The same checks on the CPU: they pass here, so a failure on CUDA is CUDA's, not the check's.</summary>
public class CudaChecksOnTheCpuTests
{
    public static TheoryData<string> Names()
    {
        var names = new TheoryData<string>();
        foreach (var (name, _) in Checks.All.Where(c => c.Name is not ("every-policy-resnet18" or "advice-probe")))
        {
            names.Add(name);    // the ResNet18 and advice checks take ~15 s on two cores: the kit's CPU run covers them
        }

        return names;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void The_check_passes_on_the_cpu(string name) => Checks.All.Single(c => c.Name == name).Run(CPU);
}
