namespace Meta.Gpu.Kernels;

/// <summary>
/// One thread's column of a network kernel: the cells of its participating rows, by their place in the row list.
/// Generic code over it (<see cref="ExtremeListNetwork.SelectExtremes{TCells}"/>) is specialised per struct, so
/// each implementation compiles to its own address arithmetic and nothing is dispatched at run time.
/// </summary>
public interface IColumnCells
{
    /// <summary>Participating rows.</summary>
    int Count { get; }

    /// <summary>The cell of participating row <paramref name="row"/>; past the last row, the last row's cell again
    /// (a load without a branch, replaced by <see cref="Pad"/>).</summary>
    float Read(int row);

    /// <summary><paramref name="value"/> for a participating row, <paramref name="pad"/> past the last one: +inf pads
    /// a low list and -inf a high list, which never keep a pad.</summary>
    float Pad(int row, float value, float pad);
}
