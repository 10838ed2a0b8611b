using System.Runtime.Intrinsics;
using Meta.Gpu.Compute.Cpu;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The weighted median's generated partial sorts: for every band of ranks of 16, 32 or 64 keys in sorted runs of
/// eight, the rows of the band must hold the band's order statistics after the network ran, each lane on its own,
/// with many ties; sizes without networks must be refused and left untouched.
/// </summary>
public sealed class WeightedMedianSelectionNetworkTests
{
    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    [InlineData(64)]
    public void Every_band_of_ranks_ends_sorted_in_its_rows(int size)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var tile = new Vector256<int>[size];
        var lanes = new int[8][];
        for (var trial = 0; trial < 300; trial++)
        {
            // Bands of every width, the narrow middle ones (the usual case) as often as the rest.
            var from = trial % 2 == 0 ? rng.Next(size / 4, size / 2) : rng.Next(size);
            var to = trial % 2 == 0 ? rng.Next(size / 2, size * 3 / 4) : rng.Next(from, size);
            var distinct = trial % 3 == 0 ? 4 : 1 << 20;
            for (var lane = 0; lane < 8; lane++)
            {
                lanes[lane] = Enumerable.Range(0, size).Select(_ => rng.Next(-distinct, distinct)).ToArray();
                for (var g = 0; g < size; g += 8) Array.Sort(lanes[lane], g, 8);
            }
            for (var r = 0; r < size; r++)
                tile[r] = Vector256.Create(lanes[0][r], lanes[1][r], lanes[2][r], lanes[3][r], lanes[4][r], lanes[5][r], lanes[6][r], lanes[7][r]);
            Assert.True(WeightedMedianSelectionNetwork.TrySortRanks(ref tile[0], size, from, to));
            for (var lane = 0; lane < 8; lane++)
            {
                var sorted = lanes[lane].Order().ToArray();
                for (var j = from; j <= to; j++)
                    Assert.True(sorted[j] == tile[j].GetElement(lane), $"seed {seed}, M={size}, ranks {from}-{to}, lane {lane}, rank {j}");
            }
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(128)]
    [InlineData(256)]
    public void Sizes_without_a_network_are_refused_untouched(int size)
    {
        var tile = Enumerable.Range(0, size).Select(r => Vector256.Create(size - r)).ToArray();
        var before = tile.ToArray();
        Assert.False(WeightedMedianSelectionNetwork.TrySortRanks(ref tile[0], size, size / 2 - 1, size / 2));
        Assert.Equal(before, tile);
    }
}
