namespace MixFit.Tests.Support;

/// <summary>
/// The libtorch this test run was built against, for tests that check what MixFit reads from the loaded library: the
/// NuGet libtorch-cpu-linux-x64 2.10.0 of a plain build, or, in a run of <c>tools/current-libtorch/test.sh</c>, the
/// version of the root's libtorch headers, which that script declares in <c>MIXFIT_EXPECT_LIBTORCH</c>. The value comes
/// from the build, never from the library under test, so a wrong reading still fails.
/// </summary>
public static class ExpectedLibTorch
{
    /// <summary>The environment variable that declares another libtorch (set by tools/current-libtorch/test.sh).</summary>
    public const string EnvironmentVariable = "MIXFIT_EXPECT_LIBTORCH";

    /// <summary>The expected version, e.g. <c>2.10.0</c>.</summary>
    public static string Version { get; } = Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } declared ? declared : "2.10.0";

    /// <summary>True in a run on another libtorch than the packaged one (tools/current-libtorch/test.sh).</summary>
    public static bool IsExternal => Version != "2.10.0";

    /// <summary>The major.minor part, e.g. <c>2.10</c>.</summary>
    public static string MajorMinor => string.Join('.', Version.Split('.').Take(2));
}
