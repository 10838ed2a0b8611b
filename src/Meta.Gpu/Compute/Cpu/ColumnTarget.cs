using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>Where a combined column goes: the aggregate (when asked) and the Reptile step on the prior.</summary>
/// <remarks>With a <paramref name="signal"/> (rows not scanned), a value that is not finite raises it: with finite
/// weights and cells the kernels that write through here produce finite values only.</remarks>
internal readonly ref struct ColumnTarget(Span<float> aggregate, Span<float> prior, ReptileStep? step, NonFiniteSignal? signal = null)
{
    public readonly Span<float> Aggregate = aggregate;
    public readonly Span<float> Prior = prior;
    public readonly ReptileStep? Step = step;
    public readonly NonFiniteSignal? Signal = signal;

    /// <summary>Writes column <paramref name="column"/>'s value; returns 1 when the column is empty (NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Write(int column, double value)
    {
        if (Signal is not null && !double.IsFinite(value)) Signal.Raise();
        var v = (float)value;
        if (!Aggregate.IsEmpty) Aggregate[column] = v;
        if (double.IsNaN(value)) return 1;
        if (Step is ReptileStep s) Prior[column] = DenseReptile.StepValue(Prior[column], v, s);
        return 0;
    }

    /// <summary>Writes columns [column, column + 8): the vector form of <see cref="Write"/> for finite values (same
    /// float64 arithmetic per lane, so the same results), one call instead of eight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WriteFinite8(int column, Vector256<double> low, Vector256<double> high)
    {
        var v = Vector256.Narrow(low, high);
        if (!Aggregate.IsEmpty) v.CopyTo(Aggregate.Slice(column, 8));
        if (Step is not ReptileStep s) return;
        var prior = Prior.Slice(column, 8);
        DenseReptile.StepVector(Vector256.Create((ReadOnlySpan<float>)prior), v, s).CopyTo(prior);
    }
}
