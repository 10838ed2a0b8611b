namespace Meta.Gpu.Compute.Cpu;

/// <summary>Where a combined column goes: the aggregate (when asked) and the Reptile step on the prior.</summary>
internal readonly ref struct ColumnTarget(Span<float> aggregate, Span<float> prior, ReptileStep? step)
{
    public readonly Span<float> Aggregate = aggregate;
    public readonly Span<float> Prior = prior;
    public readonly ReptileStep? Step = step;

    /// <summary>Writes column <paramref name="column"/>'s value; returns 1 when the column is empty (NaN).</summary>
    public int Write(int column, double value)
    {
        var v = (float)value;
        if (!Aggregate.IsEmpty) Aggregate[column] = v;
        if (double.IsNaN(value)) return 1;
        if (Step is ReptileStep s) Prior[column] = DenseReptile.StepValue(Prior[column], v, s);
        return 0;
    }
}
