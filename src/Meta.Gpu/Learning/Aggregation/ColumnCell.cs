namespace Meta.Gpu.Learning.Aggregation;

/// <summary>One present cell of a column: its value (float64), the row's weight p, and the row index, which
/// breaks ties between equal values (lower row first).</summary>
public readonly record struct ColumnCell(double Value, double Weight, int Row);
