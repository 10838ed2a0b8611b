using Meta.Gpu.Compute;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>Column chunk sizing from free device memory (no device needed).</summary>
public sealed class ChunkPlanTests
{
    [Fact]
    public void WholeBatchStaysResidentWhenItFits()
    {
        var stride = DomainBatch.ChooseStride(1_000_000);
        Assert.Equal(1_000_000, IlgpuBackend.ColumnsPerChunk(100, stride, 1_000_000, hasMask: false, budgetBytes: 8L << 30));
    }

    [Fact]
    public void TooLargeBatchIsSplitIntoChunksThatFitTheBudget()
    {
        const int rows = 200, columns = 1_000_000;
        var stride = DomainBatch.ChooseStride(columns);
        const long budget = 256L << 20;
        var width = IlgpuBackend.ColumnsPerChunk(rows, stride, columns, hasMask: true, budget);
        Assert.InRange(width, 1, columns - 1);
        Assert.True((long)width * rows * 5 < budget);
        Assert.True((long)(width * 2L) * rows * 5 > budget - (rows * 1024L * 16 + (1 << 20)), "chunks should use most of the budget");
    }

    /// <summary>The boundary: a batch that fits with not a byte to spare stays resident; one byte less and it goes
    /// in packed chunks, at least two of them, even where D packed columns (no stride padding) would fit, since a width
    /// of D means resident.</summary>
    [Fact]
    public void ABatchThatJustFitsStaysResident_AndOneByteLessGivesTwoChunks()
    {
        const int rows = 4, columns = 1000;
        var stride = DomainBatch.ChooseStride(columns);
        Assert.Equal(1008, stride);
        const long scratch = rows * 1024L * (sizeof(double) + 2 * sizeof(int)) + (1 << 20);
        var exact = scratch + (long)rows * stride * sizeof(float) + columns * (sizeof(double) + 2 * sizeof(float) + sizeof(int));

        Assert.Equal(columns, IlgpuBackend.ColumnsPerChunk(rows, stride, columns, hasMask: false, exact));
        // Packed, 1003 columns would fit in one byte less; a width of D - 1 keeps it from reading as resident.
        Assert.Equal(columns - 1, IlgpuBackend.ColumnsPerChunk(rows, stride, columns, hasMask: false, exact - 1));
    }

    [Fact]
    public void DeviceTooSmallForOneColumnThrows() =>
        Assert.Throws<InvalidOperationException>(() => IlgpuBackend.ColumnsPerChunk(100, 16, 10, hasMask: false, budgetBytes: 1000));
}
