using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The learner's per-domain history (DESIGN §7): "score_delta = score - last_score; history of deltas capped at
/// max_history", with "max_history 20" the default. The history is kept in the saved learner state
/// (<see cref="DomainMetaLearner.Snapshot"/>), so its contents and its length are what a restart reads back.
/// </summary>
public sealed class DomainScoreHistoryTests
{
    private static readonly Dictionary<string, double> Tau = new(StringComparer.Ordinal) { ["tau"] = 1.0 };

    [Fact]
    public void The_history_holds_the_score_deltas_not_the_scores()
    {
        // Scores 0.25, 0.75, 0.5 (exact in binary): deltas 0.25 - 0, 0.75 - 0.25, 0.5 - 0.75.
        var learner = new DomainMetaLearner();
        foreach (var score in new[] { 0.25, 0.75, 0.5 })
            learner.Observe("d", new DomainMetrics(MetaScore: score, StabilityAvg: 0.9), Tau);

        Assert.Equal([0.25, 0.5, -0.25], learner.Snapshot()["d"].History);
    }

    [Fact]
    public void By_default_the_newest_twenty_deltas_are_kept()
    {
        // Scores i * i for i = 1..25 give the deltas 2i - 1 (1, 3, ..., 49); the newest twenty are 11, 13, ..., 49.
        var learner = new DomainMetaLearner();
        for (var i = 1; i <= 25; i++)
            learner.Observe("d", new DomainMetrics(MetaScore: i * i, StabilityAvg: 0.9), Tau);

        Assert.Equal(20, learner.State("d")!.HistoryLength);
        Assert.Equal(Enumerable.Range(6, 20).Select(i => 2.0 * i - 1), learner.Snapshot()["d"].History);
    }
}
