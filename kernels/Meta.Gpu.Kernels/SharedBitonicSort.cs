using ILGPU;
using ILGPU.Algorithms;

namespace Meta.Gpu.Kernels;

/// <summary>
/// Bitonic sorts of one column in shared memory by the whole thread group (<see cref="BitonicMedianKernel"/>,
/// <see cref="BitonicWeightedMedianKernel"/>): log2(P)(log2(P) + 1)/2 steps of P/2 comparators, P a power of two,
/// each thread taking every Group.DimX-th comparator of a step, a barrier between steps. Call from every thread of
/// the group, with the keys written and a barrier passed.
/// </summary>
internal static class SharedBitonicSort
{
    /// <summary>Sorts <paramref name="values"/>[0..<paramref name="length"/>) ascending.</summary>
    public static void Sort(ArrayView<float> values, int length)
    {
        for (var k = 2; k <= length; k <<= 1)
        {
            for (var j = k >> 1; j > 0; j >>= 1)
            {
                for (var i = Group.IdxX; i < length / 2; i += Group.DimX)
                {
                    var low = Low(i, j);
                    var a = values[low];
                    var b = values[low + j];
                    var min = XMath.Min(a, b);
                    var max = XMath.Max(a, b);
                    var ascending = (low & k) == 0;
                    values[low] = ascending ? min : max;
                    values[low + j] = ascending ? max : min;
                }
                Group.Barrier();
            }
        }
    }

    /// <summary>Sorts the pairs (<paramref name="values"/>[i], <paramref name="rows"/>[i]) in (value, row) order, -0 and
    /// +0 equal (<see cref="ColumnOrder.Before"/>).</summary>
    public static void SortPairs(ArrayView<float> values, ArrayView<int> rows, int length)
    {
        for (var k = 2; k <= length; k <<= 1)
        {
            for (var j = k >> 1; j > 0; j >>= 1)
            {
                for (var i = Group.IdxX; i < length / 2; i += Group.DimX)
                {
                    var low = Low(i, j);
                    var a = values[low];
                    var b = values[low + j];
                    var ra = rows[low];
                    var rb = rows[low + j];
                    var outOfOrder = ColumnOrder.Before(b, rb, a, ra);
                    // Ascending blocks want (a, ra) first; descending ones want it last.
                    var swap = (low & k) == 0 ? outOfOrder : !outOfOrder;
                    if (swap)
                    {
                        values[low] = b;
                        values[low + j] = a;
                        rows[low] = rb;
                        rows[low + j] = ra;
                    }
                }
                Group.Barrier();
            }
        }
    }

    /// <summary>The lower index of the i-th pair of a step whose pairs are <paramref name="j"/> apart (a power of two).</summary>
    private static int Low(int i, int j) => ((i & -j) << 1) | (i & (j - 1));
}
