namespace MixFit.Tests.Support;

/// <summary>
/// A fact that needs MPICH's launcher <c>mpiexec.mpich</c> and its library (Debian's mpich, which test.sh installs when
/// it can): skipped with the reason where it is missing.
/// </summary>
public sealed class MpichFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when mpiexec.mpich is not on PATH.</summary>
    public MpichFactAttribute()
    {
        if (!RepositoryFiles.OnPath("mpiexec.mpich"))
        {
            Skip = "needs MPICH's mpiexec.mpich on PATH (sudo apt-get install mpich)";
        }
    }
}
