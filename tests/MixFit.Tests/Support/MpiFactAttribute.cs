namespace MixFit.Tests.Support;

/// <summary>
/// A fact that needs Open MPI's <c>mpirun</c> (Debian's openmpi-bin, which test.sh installs when it can): skipped with
/// the reason where it is missing, never a silent pass.
/// </summary>
public sealed class MpiFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when mpirun is not on PATH.</summary>
    public MpiFactAttribute()
    {
        if (!Available)
        {
            Skip = "needs Open MPI's mpirun on PATH (sudo apt-get install openmpi-bin libopenmpi-dev)";
        }
    }

    /// <summary>Whether mpirun is on PATH.</summary>
    public static bool Available { get; } = RepositoryFiles.OnPath("mpirun");
}
