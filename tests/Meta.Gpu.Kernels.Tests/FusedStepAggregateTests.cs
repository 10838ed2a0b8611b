using ILGPU;
using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// DESIGN §4: "The fused path (aggregate + Reptile step in one pass over the matrix ...) must not write the aggregate to
/// memory unless asked." The kernels leave the aggregate untouched where <see cref="CombineSettings.WriteAggregate"/>
/// is 0 (and still step the prior), and the backend keeps no D-long aggregate on the device for a combine that asks
/// for none.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class FusedStepAggregateTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_combine_kernels_write_the_aggregate_only_when_asked_and_step_the_prior_either_way(bool write)
    {
        const int rows = 3, columns = 5;
        using var device = KernelAccelerator.TryCreate(DeviceKind.IlgpuCpu) ?? throw new InvalidOperationException("ILGPU's CPU accelerator is missing");
        var a = device.Accelerator;
        var stream = a.DefaultStream;
        // Column c holds c, c + 1, c + 2: every combine's value is c + 1.
        var cells = new float[rows * columns];
        for (var r = 0; r < rows; r++)
        for (var c = 0; c < columns; c++) cells[r * columns + c] = c + r;
        using var values = new DeviceBuffer<float>(a);
        using var mask = new DeviceBuffer<byte>(a);
        using var rowList = new DeviceBuffer<int>(a);
        using var weights = new DeviceBuffer<double>(a);
        using var aggregate = new DeviceBuffer<float>(a);
        using var prior = new DeviceBuffer<float>(a);
        using var counts = new DeviceBuffer<int>(a);
        var matrix = new DenseMatrix(values.Upload(cells), mask.View(1), columns, columns, hasMask: false);
        var rowView = rowList.Upload([0, 1, 2]);
        var weightView = weights.Upload([1 / 3.0, 1 / 3.0, 1 / 3.0]);
        var settings = new CombineSettings
        {
            Method = CombineSettings.Mean,
            RowCount = rows,
            LeadingRows = 1,
            WriteAggregate = write ? 1 : 0,
            Step = 1,
            Rule = CombineSettings.Delta,
            Beta = 1.0,
        };
        var kernels = new (string Name, Action<ArrayView<float>, ArrayView<float>, ArrayView<int>> Launch)[]
        {
            ("combine", (agg, pri, cnt) => device.Kernels.Combine(columns, matrix, rowView, weightView, settings, agg, pri, cnt)),
            ("weighted mean", (agg, pri, cnt) => device.Kernels.WeightedMean(columns, matrix, rowView, weightView, settings, agg, pri, cnt)),
        };
        foreach (var (name, launch) in kernels)
        {
            var aggregateView = aggregate.Upload(Enumerable.Repeat(-7f, columns).ToArray());
            var priorView = prior.Upload(new float[columns]);
            var countView = counts.Upload([0, 0, 0]);
            launch(aggregateView, priorView, countView);
            var aggregateBack = new float[columns];
            var priorBack = new float[columns];
            Copy.ToHost(stream, aggregateView, aggregateBack);
            Copy.ToHost(stream, priorView, priorBack);

            float[] combined = [1f, 2f, 3f, 4f, 5f];
            Assert.Equal(write ? combined : Enumerable.Repeat(-7f, columns).ToArray(), aggregateBack);
            // delta with beta 1 from a zero prior: the prior is the combined values, whether or not they were written.
            Assert.True(combined.SequenceEqual(priorBack), $"{name}: prior [{string.Join(", ", priorBack)}]");
        }
    }

    [Fact]
    public void A_fused_step_holds_no_D_long_aggregate_on_the_device()
    {
        const int rows = 4, columns = 4096;
        var batch = RandomBatch.Create(new BatchShape(rows, columns, Mask: false, Ties: false), 17);
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: false);
        var step = new ReptileStep(ReptileRule.Interpolate, 0.3);
        // A backend of its own: the shared one holds buffers sized by earlier tests.
        using var backend = (IlgpuBackend)ComputeBackends.Create(ComputeBackends.IlgpuCpu);

        backend.Combine(batch, list, weights, AggregationMethod.Mean, 0.1, false, Span<float>.Empty, RandomBatch.Prior(columns, 1), step);
        var fused = backend.DeviceBytesHeld;
        backend.Combine(batch, list, weights, AggregationMethod.Mean, 0.1, false, new float[columns], RandomBatch.Prior(columns, 1), step);
        var asked = backend.DeviceBytesHeld;

        // Asking for the aggregate is what adds its D floats; the same call fused kept none.
        Assert.True(asked - fused >= sizeof(float) * (columns - 1), $"fused {fused} bytes, with the aggregate {asked}");
    }
}
