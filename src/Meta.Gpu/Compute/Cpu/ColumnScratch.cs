namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// Per-thread working buffers of the cpu backend, grown on demand and reused across calls so the hot loops
/// allocate nothing.
/// </summary>
internal sealed class ColumnScratch
{
    [ThreadStatic] private static ColumnScratch? current;

    public float[] Values = [];
    public int[] Positions = [];
    public long[] Keys = [];
    public int[] Counts = [];
    public bool[] AnyPresent = [];
    public double[] Doubles = [];

    /// <summary>The weighted sum's per-column float64 accumulators, largest raw bits and error bounds
    /// (<see cref="WeightedSumKernel"/>): a block of them is several hundred KiB, too much for a thread's stack.</summary>
    public double[] Sums = [];
    public uint[] Magnitudes = [];
    public double[] Bounds = [];

    /// <summary>This thread's buffers, with room for the weighted sum's <paramref name="columns"/> columns.</summary>
    public static ColumnScratch ForWeightedSum(int columns)
    {
        var s = current ??= new ColumnScratch();
        if (s.Sums.Length < columns)
        {
            s.Sums = new double[columns];
            s.Magnitudes = new uint[columns];
            s.Bounds = new double[columns];
        }
        return s;
    }

    public static ColumnScratch ForThread(int rows, int block)
    {
        var s = current ??= new ColumnScratch();
        var cells = Math.Max(1, rows) * block;
        if (s.Values.Length < cells)
        {
            s.Values = new float[cells];
            s.Positions = new int[cells];
        }
        if (s.Keys.Length < Math.Max(rows, 1)) s.Keys = new long[Math.Max(rows, 1)];
        if (s.Counts.Length < block)
        {
            s.Counts = new int[block];
            s.AnyPresent = new bool[block];
        }
        if (s.Doubles.Length < Math.Max(rows, block)) s.Doubles = new double[Math.Max(rows, block)];
        return s;
    }
}
