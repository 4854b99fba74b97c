namespace MixFit.Tests.Support;

/// <summary>The theory form of <see cref="MpiFactAttribute"/>: skipped with the reason where mpirun is missing.</summary>
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when mpirun is not on PATH.</summary>
    public MpiTheoryAttribute()
    {
        if (!MpiFactAttribute.Available)
        {
            Skip = "needs Open MPI's mpirun on PATH (sudo apt-get install openmpi-bin libopenmpi-dev)";
        }
    }
}
