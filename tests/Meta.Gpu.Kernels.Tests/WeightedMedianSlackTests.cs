using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// The weighted median's slack is eps = 1e-12 S (DESIGN §4 step 6: the first j with c_j &gt;= S/2 - eps; the mean of
/// v_j and v_j+1 when |c_j - S/2| &lt;= eps), on every kernel that picks it: the walks (a mask), the 32- and 64-pair
/// networks (2 and 33 rows) and the bitonic kernel (65 rows). Row 0 holds the least value and a share a few 1e-12 off
/// S/2, the other rows share the rest: half an eps off is within the slack (the mean of rows 0 and 1), three eps off
/// is not (below: row 1's value; above: row 0's). A slack ten times wider (or narrower) picks otherwise.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class WeightedMedianSlackTests(IlgpuCpuFixture fixture)
{
    private readonly IlgpuBackend _backend = Reset(fixture.Backend);

    private static IlgpuBackend Reset(IlgpuBackend backend)
    {
        backend.ChunkColumns = null;
        backend.DenseKernels = true;
        return backend;
    }

    public static TheoryData<int, bool, double, float> Cases()
    {
        var data = new TheoryData<int, bool, double, float>();
        foreach (var (rows, mask) in new[] { (2, true), (2, false), (33, true), (33, false), (65, true), (65, false) })
        {
            data.Add(rows, mask, -3e-12, 2f);     // c_0 below S/2 - eps: row 1 is the first to reach it, far past S/2
            data.Add(rows, mask, -0.5e-12, 1.5f); // c_0 reaches S/2 - eps within eps of S/2: the mean of two
            data.Add(rows, mask, 0.5e-12, 1.5f);  // c_0 past S/2, still within eps: the mean of two
            data.Add(rows, mask, 3e-12, 1f);      // c_0 past S/2 by more than eps: row 0's value alone
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_running_sum_is_within_the_slack_only_up_to_1e_12_S(int rows, bool mask, double offset, float expected)
    {
        var batch = new DomainBatch(rows, 1, withMask: mask);
        for (var r = 0; r < rows; r++)
        {
            batch.Row(r)[0] = 1f + r;
            if (mask) batch.MaskRow(r)[0] = 1;
        }
        batch.MarkChanged();
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = list.Select(r => r == 0 ? 0.5 + offset : (0.5 - offset) / (rows - 1)).ToArray();
        // The float64 reference (what the aggregator runs) decides so too.
        var cells = list.Select(r => new ColumnCell(1.0 + r, weights[r], r)).ToArray();
        Assert.Equal(expected, (float)ColumnRules.Combine(AggregationMethod.WeightedMedian, cells, 0.1));

        var before = _backend.DenseCombines;
        var aggregate = new float[1];
        float[] prior = [0f];
        _backend.Combine(batch, list, weights, AggregationMethod.WeightedMedian, 0.1, false, aggregate, prior, new ReptileStep(ReptileRule.Delta, 1.0));
        // A mask leaves the column to the walks; without one a dense kernel picks.
        Assert.Equal(before + (mask ? 0 : 1), _backend.DenseCombines);
        Assert.Equal(expected, aggregate[0]);
        Assert.Equal(expected, prior[0]);
    }
}
