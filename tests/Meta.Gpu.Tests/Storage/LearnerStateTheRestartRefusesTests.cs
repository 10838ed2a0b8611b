using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// <see cref="MetaStorageManager.SavePrior(IReadOnlyDictionary{string, double}, IReadOnlyDictionary{string, long}?, SavedLearnerState?)"/>
/// documents that a learners' state "its load would refuse" is refused, naming the field, and nothing is saved. A
/// state the restart refuses (the learner's restore: an empty domain id, a non-finite last score, an EMA missing or
/// non-finite after observations; the agent: a pending update no newer than its domain's applied sequence) was
/// saved all the same: at the next start it was passed over with a warning and every learner started fresh, and the
/// copy before it, naming the prior this save replaced, could not stand in for it.
/// </summary>
public sealed class LearnerStateTheRestartRefusesTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static readonly Dictionary<string, double> Prior = new() { ["tau"] = 1.0 };

    private static SavedDomainLearner Learner(double ema) => new(ema, 0.5, 0.5, [0.1], new Dictionary<string, double> { ["tau"] = 1.0 }, 2, 1);

    private static SavedLearnerState State(double ema) => new(
        new Dictionary<string, SavedDomainLearner> { ["a"] = Learner(ema) }, new SavedOptimizerState(0.1, 0.2));

    private static SavedPendingPack Pack(long sequence) => new(sequence, ["tau"], [1f], 0.5, 0.8, DateTimeOffset.UnixEpoch, 0.1);

    [Theory]
    [InlineData("domains.a.last_score")]
    [InlineData("domains.a.ema_score")]
    [InlineData("domains.a.ema_score (NaN)")]
    [InlineData("domains")]
    [InlineData("pending")]
    [InlineData("pending.a.sequence")]
    public void A_state_the_restart_would_refuse_is_refused_at_save_naming_the_field_and_nothing_is_saved(string field)
    {
        var storage = new MetaStorageManager(new StorageConfig(_folder.Path));
        storage.SavePrior(Prior, new Dictionary<string, long> { ["a"] = 1 }, State(0.25));
        var good = State(0.75);
        var learner = good.Domains["a"];
        var bad = field switch
        {
            "domains.a.last_score" => good with { Domains = new Dictionary<string, SavedDomainLearner> { ["a"] = learner with { LastScore = double.NaN } } },
            "domains.a.ema_score" => good with { Domains = new Dictionary<string, SavedDomainLearner> { ["a"] = learner with { EmaScore = null } } },
            "domains.a.ema_score (NaN)" => good with { Domains = new Dictionary<string, SavedDomainLearner> { ["a"] = learner with { EmaScore = double.PositiveInfinity } } },
            "domains" => good with { Domains = new Dictionary<string, SavedDomainLearner> { [""] = learner } },
            "pending" => good with { Pending = new Dictionary<string, SavedPendingPack> { [""] = Pack(3) } },
            _ => good with { Pending = new Dictionary<string, SavedPendingPack> { ["a"] = Pack(2) } },
        };

        var error = Assert.Throws<InvalidInputException>(() =>
            storage.SavePrior(new Dictionary<string, double> { ["tau"] = 2.0 }, new Dictionary<string, long> { ["a"] = 2 }, bad));

        Assert.Contains($"learners.{field.Split(' ')[0]}:", error.Message, StringComparison.Ordinal);
        var loaded = storage.LoadPriorWithSequences()!;
        Assert.Equal(Prior, loaded.Prior);
        Assert.Equal(1, loaded.LastSequences["a"]);
        Assert.Equal(0.25, loaded.Learners!.Domains["a"].EmaScore);
    }
}
