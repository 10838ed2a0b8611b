namespace Meta.Gpu.Compute;

/// <summary>Per-row facts for eligibility (DESIGN §4 step 1): present cells, and whether any present cell is
/// non-finite (absent cells are never checked).</summary>
public readonly record struct RowScan(int PresentCells, bool HasNonFinite);
