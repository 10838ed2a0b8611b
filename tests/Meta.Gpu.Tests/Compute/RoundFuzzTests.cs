using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// <see cref="AwkwardRounds"/> on a backend against the cpu backend's exact path (itself checked against the keyed
/// reference by <see cref="CpuExactPathAgreementTests"/>), with a fresh seed every run. This is how the cpu
/// kernels' float32 cancellation errors were found. To run it on another backend, derive and give
/// <see cref="CreateBackend"/>, and fewer rounds or columns for a slow one.
/// </summary>
public abstract class RoundFuzzTests
{
    protected abstract IComputeBackend CreateBackend();

    /// <summary>Rounds per run.</summary>
    protected virtual int Rounds => 600;

    /// <summary>The column counts drawn from.</summary>
    protected virtual IReadOnlyList<int> ColumnCounts { get; } = [1, 7, 8, 33, 257];

    [Fact]
    public void Random_rounds_on_awkward_data_agree_with_the_exact_path()
    {
        using var backend = CreateBackend();
        AwkwardRounds.AgreeWithTheExactPath(backend, TestSeed.Next(), Rounds, ColumnCounts);
    }
}

/// <summary>The cpu backend's fast kernels.</summary>
public sealed class CpuRoundFuzzTests : RoundFuzzTests
{
    protected override IComputeBackend CreateBackend() => new CpuBackend();
}
