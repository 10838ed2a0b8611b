namespace Meta.Gpu.Kernels;

/// <summary>The scalar settings of one <see cref="CombineKernel"/> launch (flags as 0/1 ints: kernel
/// parameters stay plain data).</summary>
public struct CombineSettings
{
    public const int Mean = 0;
    public const int TrimmedMean = 1;
    public const int Median = 2;
    public const int WeightedMedian = 3;

    public const int Interpolate = 0;
    public const int Delta = 1;

    /// <summary>One of <see cref="Mean"/>, <see cref="TrimmedMean"/>, <see cref="Median"/>, <see cref="WeightedMedian"/>.</summary>
    public int Method;

    /// <summary>Share trimmed from each end, 0 &lt;= a &lt; 0.5.</summary>
    public double TrimAlpha;

    public int MissingAsZero;

    /// <summary>Participating rows (the length of the row and weight lists).</summary>
    public int RowCount;

    /// <summary>1: the listed rows are the batch's rows 0..<see cref="RowCount"/> - 1 in order, so the kernels that
    /// know it read a cell without looking its row up (<see cref="LeadingColumnCells"/>); 0: any other list.</summary>
    public int LeadingRows;

    /// <summary>1: write the column's value to the aggregate; 0: the fused path never materialises it.</summary>
    public int WriteAggregate;

    /// <summary>1: apply the Reptile step to the prior.</summary>
    public int Step;

    /// <summary><see cref="Interpolate"/> or <see cref="Delta"/>.</summary>
    public int Rule;

    public double Beta;
}
