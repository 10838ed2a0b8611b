using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// After Dispose every method of every backend throws <see cref="ObjectDisposedException"/>, as .NET objects do,
/// and Dispose may be called again. The cpu backend, which holds nothing to free, went on computing; ilgpu-cpu
/// answered the calls that return before they reach the device (a batch of no rows, an unscanned combine with
/// nothing to write, whether it combines unscanned) as if alive; the fallback wrapper passed them on.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class DisposedBackendTests
{
    public static TheoryData<string> Backends => ["cpu", "ilgpu-cpu", "fallback"];

    private static IComputeBackend Create(string name) => name switch
    {
        "cpu" => new CpuBackend(),
        "ilgpu-cpu" => IlgpuBackend.Create(ComputeBackends.IlgpuCpu),
        _ => new FallbackBackend(IlgpuBackend.Create(ComputeBackends.IlgpuCpu), new CpuBackend()),
    };

    private static readonly ReptileStep Step = new(ReptileRule.Interpolate, 0.5);

    /// <summary>Every call of <see cref="IComputeBackend"/> with valid arguments, the early-returning ones included.</summary>
    private static readonly (string Call, Action<IComputeBackend, DomainBatch> Run)[] Calls =
    [
        ("ScanRows", (b, batch) => b.ScanRows(batch, new RowScan[batch.Rows])),
        ("ScanRows of a batch of no rows", (b, _) => b.ScanRows(new DomainBatch(0, 4), Span<RowScan>.Empty)),
        ("ScanRows of listed rows", (b, batch) => b.ScanRows(batch, [0, 2], new RowScan[2])),
        ("ColumnMedians", (b, batch) => b.ColumnMedians(batch, [0, 1, 2], false, new double[batch.Columns])),
        ("RowDistances", (b, batch) => b.RowDistances(batch, [0, 1, 2], false, new double[batch.Columns], new double[3])),
        ("RowDistances of no rows", (b, batch) => b.RowDistances(batch, [], false, new double[batch.Columns], [])),
        ("MediansAndDistances", (b, batch) => b.MediansAndDistances(batch, [0, 1, 2], false, new double[batch.Columns], new double[3])),
        ("MediansAndDistances, distances alone", (b, batch) => b.MediansAndDistances(batch, [0, 1, 2], false, [], new double[3])),
        ("Combine", (b, batch) => b.Combine(batch, [0, 1, 2], [0.2, 0.3, 0.5], AggregationMethod.Mean, 0.1, false,
            new float[batch.Columns], new float[batch.Columns], Step)),
        ("Combine with nothing to write", (b, batch) => b.Combine(batch, [0, 1, 2], [0.2, 0.3, 0.5], AggregationMethod.Mean, 0.1, false,
            [], [], null)),
        ("Combine on a resident prior", (b, batch) => b.Combine(batch, [0, 1, 2], [0.2, 0.3, 0.5], AggregationMethod.Mean, 0.1, false,
            new float[batch.Columns], new ResidentPrior(new float[batch.Columns]), Step)),
        ("CanCombineUnscanned", (b, batch) => b.CanCombineUnscanned(batch, AggregationMethod.Mean)),
        ("CombineUnscanned", (b, batch) => b.CombineUnscanned(batch, [0, 1, 2], [0.2, 0.3, 0.5], AggregationMethod.Mean, 0.1,
            new float[batch.Columns], new float[batch.Columns], Step)),
        ("CombineUnscanned with nothing to write", (b, batch) => b.CombineUnscanned(batch, [0, 1, 2], [0.2, 0.3, 0.5], AggregationMethod.Mean, 0.1,
            [], [], null)),
        ("CombineUnscanned on a resident prior", (b, batch) => b.CombineUnscanned(batch, [0, 1, 2], [0.2, 0.3, 0.5], AggregationMethod.Mean, 0.1,
            new float[batch.Columns], new ResidentPrior(new float[batch.Columns]), Step)),
    ];

    private static DomainBatch Batch()
    {
        var batch = new DomainBatch(3, 10);
        for (var r = 0; r < 3; r++)
        for (var c = 0; c < 10; c++)
            batch.Row(r)[c] = r + 0.1f * c;
        batch.MarkChanged();
        return batch;
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Every_call_after_Dispose_throws_ObjectDisposedException(string name)
    {
        var backend = Create(name);
        var batch = Batch();
        // Alive, every call works (so the failures below are the disposal's).
        foreach (var (_, run) in Calls) run(backend, batch);

        backend.Dispose();

        var answered = Calls.Where(call =>
        {
            try
            {
                call.Run(backend, batch);
                return true;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }).Select(call => call.Call).ToList();
        Assert.True(answered.Count == 0, $"{name} answered after Dispose: {string.Join(", ", answered)}");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Dispose_may_be_called_again(string name)
    {
        var backend = Create(name);
        backend.Combine(Batch(), [0, 1, 2], [0.2, 0.3, 0.5], AggregationMethod.Mean, 0.1, false, new float[10], [], null);

        backend.Dispose();
        backend.Dispose();

        Assert.Throws<ObjectDisposedException>(() => backend.ScanRows(Batch(), new RowScan[3]));
    }
}
