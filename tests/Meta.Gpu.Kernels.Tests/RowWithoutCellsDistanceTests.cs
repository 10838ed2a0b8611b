using Meta.Gpu.Compute;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// DESIGN §4 step 3: r_i is the root of the mean over row i's present cells; a listed row with none has no mean, so
/// its distance is NaN (as the cpu backend and the float64 reference give it), never a distance of 0 that would make
/// it the most central row. The same with the columns in chunks, where each chunk counts the row's cells apart.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class RowWithoutCellsDistanceTests(IlgpuCpuFixture fixture)
{
    private readonly IlgpuBackend _backend = fixture.Backend;

    [Theory]
    [InlineData(null)]
    [InlineData(2)]
    public void A_listed_row_without_a_present_cell_has_a_nan_distance(int? chunkColumns)
    {
        var batch = new DomainBatch(3, 5, withMask: true);
        for (var r = 0; r < 3; r++)
        for (var c = 0; c < 5; c++)
        {
            batch.Row(r)[c] = r * 2 + c;
            batch.MaskRow(r)[c] = (byte)(r == 1 ? 0 : 1);
        }
        batch.MarkChanged();
        int[] rows = [0, 1, 2];
        var medians = ColumnReference.Medians(batch, rows, missingAsZero: false);
        var expected = ColumnReference.Distances(batch, rows, missingAsZero: false, medians);
        Assert.True(double.IsNaN(expected[1]));
        using var cpu = ComputeBackends.Create(ComputeBackends.Cpu);
        var onCpu = new double[3];
        cpu.RowDistances(batch, rows, false, medians, onCpu);
        Assert.Equal(expected, onCpu);

        _backend.ChunkColumns = chunkColumns;
        try
        {
            var distances = new double[3];
            _backend.RowDistances(batch, rows, false, medians, distances);
            Assert.Equal(expected, distances);
            var both = new double[3];
            _backend.MediansAndDistances(batch, rows, false, Span<double>.Empty, both);
            Assert.Equal(expected, both);
        }
        finally
        {
            _backend.ChunkColumns = null;
        }
    }
}
