using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

public sealed class MetaHistoryTests
{
    private static MetaHistoryEntry Entry(int i, bool rollback) =>
        new(i, 0.0, 0.0, default, default, default, default, rollback);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    public void The_count_without_rollback_follows_the_kept_entries_as_the_ring_wraps(int capacity)
    {
        // The count is kept as entries come and go (every Update asks for it); it must match a count of what the
        // ring holds after every append, including the ones that push a rolled-back entry out.
        var history = new MetaHistory(capacity);
        var random = new Random(7);
        for (var i = 0; i < 200; i++)
        {
            history.Add(Entry(i, rollback: random.Next(3) == 0));
            Assert.Equal(history.Count(e => !e.Rollback), history.CountWithoutRollback());
            Assert.Equal(Math.Min(i + 1, capacity), history.Count);
            Assert.Equal(i, history[history.Count - 1].Timestamp);
        }
    }
}
