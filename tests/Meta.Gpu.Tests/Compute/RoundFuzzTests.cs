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

    /// <summary>The row counts drawn from.</summary>
    protected virtual IReadOnlyList<int> RowCounts => AwkwardRounds.RowCounts;

    [Fact]
    public void Random_rounds_on_awkward_data_agree_with_the_exact_path()
    {
        using var backend = CreateBackend();
        AwkwardRounds.AgreeWithTheExactPath(backend, TestSeed.Next(), Rounds, ColumnCounts, RowCounts);
    }
}

/// <summary>The cpu backend's fast kernels, over sizes that also span several of their column blocks (256 columns
/// for the trimmed mean's lists of seven, eight and sixteen, 128 for thirty-two), a worker's share of the columns
/// and the row counts up to the kernels' 256-row limit and past it.</summary>
public sealed class CpuRoundFuzzTests : RoundFuzzTests
{
    protected override IComputeBackend CreateBackend() => new CpuBackend();

    protected override IReadOnlyList<int> ColumnCounts { get; } = [1, 7, 8, 15, 16, 17, 33, 257, 511, 512, 513, 1031, 4099];

    protected override IReadOnlyList<int> RowCounts { get; } =
        [1, 2, 5, 9, 13, 16, 17, 20, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 200, 256, 257];
}
