using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>Hand-worked cases for the rules whose outcome hinges on a discrete decision (DESIGN §4 step 6).</summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class IlgpuExactCaseTests(IlgpuCpuFixture fixture)
{
    private readonly IlgpuBackend _backend = Reset(fixture.Backend);

    private static IlgpuBackend Reset(IlgpuBackend backend)
    {
        backend.ChunkColumns = null;
        return backend;
    }

    /// <summary>One column per array entry of <paramref name="columns"/>; NaN marks an absent cell.</summary>
    private static DomainBatch Batch(params float[][] columns)
    {
        var rows = columns[0].Length;
        var batch = new DomainBatch(rows, columns.Length, withMask: columns.Any(c => c.Any(float.IsNaN)));
        for (var d = 0; d < columns.Length; d++)
        for (var i = 0; i < rows; i++)
        {
            var present = !float.IsNaN(columns[d][i]);
            batch.Row(i)[d] = present ? columns[d][i] : 123f;
            if (batch.Mask is not null) batch.MaskRow(i)[d] = (byte)(present ? 1 : 0);
        }
        batch.MarkChanged();
        return batch;
    }

    private float[] Combine(DomainBatch batch, double[] weights, AggregationMethod method, double alpha = 0.1, bool zero = false)
    {
        var aggregate = new float[batch.Columns];
        var rows = Enumerable.Range(0, batch.Rows).ToArray();
        _backend.Combine(batch, rows, weights, method, alpha, zero, aggregate, Span<float>.Empty, null);
        return aggregate;
    }

    [Fact]
    public void TrimmedMean_TiesDropTheLowerRowFirstAtTheBottomAndTheHigherRowAtTheTop()
    {
        // Sorted (value, row): (1,r0) (1,r1) (9,r2) (9,r3); k = floor(0.25 * 4) = 1 drops (1,r0) and (9,r3).
        var batch = Batch([1f, 1f, 9f, 9f]);
        var result = Combine(batch, [0.1, 0.4, 0.2, 0.3], AggregationMethod.TrimmedMean, alpha: 0.25);
        Assert.Equal((float)((0.4 * 1 + 0.2 * 9) / 0.6), result[0]);
    }

    [Fact]
    public void TrimmedMean_KeepsEverythingWhenFloorIsZero()
    {
        var batch = Batch([1f, 2f, 30f]);
        var result = Combine(batch, [0.5, 0.25, 0.25], AggregationMethod.TrimmedMean, alpha: 0.3);
        Assert.Equal((float)(0.5 * 1 + 0.25 * 2 + 0.25 * 30), result[0]);
    }

    [Fact]
    public void WeightedMedian_TakesTheMidpointWhenTheRunningSumHitsHalfExactly()
    {
        var batch = Batch([4f, 1f, 3f, 2f], [4f, 1f, 3f, 2f]);
        var uniform = Combine(batch, [0.25, 0.25, 0.25, 0.25], AggregationMethod.WeightedMedian);
        Assert.Equal(2.5f, uniform[0]);
        // Rows 1 (value 1) and 3 (value 2) carry 0.6: the running sum passes half at value 2.
        var skewed = Combine(batch, [0.2, 0.3, 0.1, 0.3], AggregationMethod.WeightedMedian);
        Assert.Equal(2f, skewed[1]);
    }

    [Fact]
    public void Median_EvenCountIsTheMeanOfTheTwoMiddleValues_AbsentCellsIgnoredOrZero()
    {
        var batch = Batch([5f, float.NaN, 1f, 2f]);
        Assert.Equal(2f, Combine(batch, [0.25, 0.25, 0.25, 0.25], AggregationMethod.Median)[0]);
        // missing as zero: {0, 1, 2, 5} -> 1.5
        Assert.Equal(1.5f, Combine(batch, [0.25, 0.25, 0.25, 0.25], AggregationMethod.Median, zero: true)[0]);
    }

    [Fact]
    public void Mean_RenormalisesTheWeightsOverPresentCells()
    {
        var batch = Batch([2f, float.NaN, 8f]);
        Assert.Equal((float)((0.2 * 2 + 0.4 * 8) / 0.6), Combine(batch, [0.2, 0.4, 0.4], AggregationMethod.Mean)[0]);
    }

    [Theory]
    [InlineData(ReptileRule.Interpolate, 1.0f + 0.5f * (3f - 1f))]
    [InlineData(ReptileRule.Delta, 1.0f + 0.5f * 3f)]
    public void ReptileStep_AppliesTheRule_AndAnEmptyColumnLeavesThePriorAsItIs(ReptileRule rule, float expected)
    {
        var batch = Batch([3f, 3f], [float.NaN, float.NaN]);
        float[] prior = [1f, 7f];
        var aggregate = new float[2];
        var empty = _backend.Combine(batch, [0, 1], [0.5, 0.5], AggregationMethod.Mean, 0.1, false, aggregate, prior, new ReptileStep(rule, 0.5));
        Assert.Equal(1, empty);
        Assert.Equal(3f, aggregate[0]);
        Assert.True(float.IsNaN(aggregate[1]));
        Assert.Equal([expected, 7f], prior);
    }

    [Fact]
    public void MissingAsZero_FillsOnlyColumnsSomeParticipantSent()
    {
        // Column 0: row 0 sent 4, row 1 did not -> {4, 0}. Column 1: row 2 (not participating) alone sent it.
        var batch = Batch([4f, float.NaN, 1f], [float.NaN, float.NaN, 9f]);
        int[] rows = [0, 1];
        var aggregate = new float[2];
        float[] prior = [1f, 2f];
        var empty = _backend.Combine(batch, rows, [0.5, 0.5], AggregationMethod.Mean, 0.1, true, aggregate, prior, new ReptileStep(ReptileRule.Delta, 1.0));
        Assert.Equal(1, empty);
        Assert.Equal(2f, aggregate[0]);
        Assert.True(float.IsNaN(aggregate[1]));
        Assert.Equal([3f, 2f], prior);

        var medians = new double[2];
        _backend.ColumnMedians(batch, rows, true, medians);
        Assert.Equal(2.0, medians[0]);
        Assert.True(double.IsNaN(medians[1]));
        var distances = new double[2];
        _backend.RowDistances(batch, rows, true, medians, distances);
        Assert.Equal([2.0, 2.0], distances);
    }

    [Theory]
    [InlineData(ReptileRule.Interpolate, 3f)]
    [InlineData(ReptileRule.Delta, 1.5f)]
    public void NaNPriorCell_IsAKeyThePriorLacks(ReptileRule rule, float expected)
    {
        var batch = Batch([3f, 3f]);
        float[] prior = [float.NaN];
        _backend.Combine(batch, [0, 1], [0.5, 0.5], AggregationMethod.Mean, 0.1, false, Span<float>.Empty, prior, new ReptileStep(rule, 0.5));
        Assert.Equal(expected, prior[0]);
    }

    [Fact]
    public void NoParticipatingRows_EveryColumnIsNaN()
    {
        var batch = Batch([1f, 2f], [3f, 4f]);
        var aggregate = new float[2];
        float[] prior = [5f, 6f];
        var empty = _backend.Combine(batch, [], [], AggregationMethod.TrimmedMean, 0.1, false, aggregate, prior, new ReptileStep(ReptileRule.Interpolate, 0.1));
        Assert.Equal(2, empty);
        Assert.All(aggregate, x => Assert.True(float.IsNaN(x)));
        Assert.Equal([5f, 6f], prior);
    }

    [Fact]
    public void ResidentBatch_UploadsOncePerVersion_AndSeesChangesAfterMarkChanged()
    {
        var batch = Batch([1f, 2f, 3f]);
        var uploads = _backend.ResidentUploads;
        Assert.Equal(2f, Combine(batch, [1 / 3.0, 1 / 3.0, 1 / 3.0], AggregationMethod.Median)[0]);
        Assert.Equal(2f, Combine(batch, [1 / 3.0, 1 / 3.0, 1 / 3.0], AggregationMethod.Median)[0]);
        Assert.Equal(uploads + 1, _backend.ResidentUploads);

        batch.Row(1)[0] = 10f;
        batch.MarkChanged();
        Assert.Equal(3f, Combine(batch, [1 / 3.0, 1 / 3.0, 1 / 3.0], AggregationMethod.Median)[0]);
        Assert.Equal(uploads + 2, _backend.ResidentUploads);
    }

    [Fact]
    public async Task CallsFromSeveralThreadsAtOnce_GiveTheSameResults()
    {
        var batch = RandomBatch.Create(new BatchShape(5, 100, Mask: true, Ties: true), 41);
        var rows = RandomBatch.EligibleRows(batch);
        var weights = RandomBatch.Weights(batch, rows, uniform: false);
        float[] Run()
        {
            var aggregate = new float[batch.Columns];
            _backend.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, true, aggregate, Span<float>.Empty, null);
            return aggregate;
        }
        var expected = Run();
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(Run)));
        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Fact]
    public void Sample_ReportsDeviceMemoryInUseAndInTotal()
    {
        var sample = DeviceTelemetry.ForBackend(_backend).Sample();
        Assert.True(sample.TotalBytes > 0);
        Assert.InRange(sample.UsedBytes, 0, sample.TotalBytes);
        Assert.InRange(sample.VramUtil, 0.0, 1.0);
        Assert.Equal(sample.VramUtil > 0.85, sample.VramHigh);
    }

    [Fact]
    public void BadArguments_AreRejectedBeforeAnyWork()
    {
        var batch = Batch([1f, 2f, 3f]);
        float[] prior = [4f];
        Assert.Throws<ArgumentException>(() => _backend.Combine(batch, [1, 0], [0.5, 0.5], AggregationMethod.Mean, 0.1, false, new float[1], prior, new ReptileStep(ReptileRule.Interpolate, 0.5)));
        Assert.Throws<ArgumentException>(() => _backend.Combine(batch, [0, 3], [0.5, 0.5], AggregationMethod.Mean, 0.1, false, new float[1], prior, null));
        Assert.Throws<ArgumentException>(() => _backend.Combine(batch, [0, 1], [1.0], AggregationMethod.Mean, 0.1, false, new float[1], prior, null));
        Assert.Throws<ArgumentException>(() => _backend.Combine(batch, [0, 1], [0.5, double.NaN], AggregationMethod.Mean, 0.1, false, new float[1], prior, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => _backend.Combine(batch, [0, 1], [0.5, 0.5], AggregationMethod.Mean, 0.5, false, new float[1], prior, null));
        Assert.Throws<ArgumentException>(() => _backend.Combine(batch, [0, 1], [0.5, 0.5], AggregationMethod.Mean, 0.1, false, new float[1], [], new ReptileStep(ReptileRule.Delta, 0.5)));
        Assert.Equal([4f], prior);
        Assert.Throws<ArgumentException>(() => IlgpuBackend.TryCreate("gpu"));
    }
}
