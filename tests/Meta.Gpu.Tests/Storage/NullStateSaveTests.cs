using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// A learners' or dense lane's state built in code with a null part (a null learner, history, parameter map, key,
/// pending pack, optimizer or score) is refused by the save as any value its load would refuse is: an
/// <see cref="InvalidInputException"/> naming the field, nothing written, and the storage saving the next good state.
/// It threw a NullReferenceException (or an ArgumentNullException naming "chars") out of the save.
/// </summary>
public sealed class NullStateSaveTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private MetaStorageManager Storage() => new(new StorageConfig(Path.Combine(_folder.Path, "store")));

    private static readonly SavedOptimizerState Optimizer = new(0.2, 0.4);

    private static SavedDomainLearner Learner() =>
        new(0.5, 0.5, 0.2, [0.5], new Dictionary<string, double> { ["tau"] = 1.0 }, 2, null);

    private static readonly SavedPendingPack Pack = new(4, ["tau"], [1f], 0.5, 0.2, DateTimeOffset.UnixEpoch, 0);

    private static Dictionary<string, double> Prior(double tau) => new(StringComparer.Ordinal) { ["tau"] = tau };

    public static TheoryData<string, string> KeyedParts => new()
    {
        { "domains", "learners.domains" },
        { "learner", "learners.domains.d1" },
        { "history", "learners.domains.d1.history" },
        { "previous_params", "learners.domains.d1.previous_params" },
        { "optimizer", "learners.optimizer" },
        { "pending pack", "learners.pending.d1" },
        { "pending keys", "learners.pending.d1.keys" },
        { "pending key", "learners.pending.d1.keys[0]" },
        { "pending vector", "learners.pending.d1.vector" },
    };

    private static SavedLearnerState KeyedWithNull(string part)
    {
        var domains = new Dictionary<string, SavedDomainLearner> { ["d1"] = Learner() };
        Dictionary<string, SavedPendingPack> Pending(SavedPendingPack? pack) => new() { ["d1"] = pack! };
        return part switch
        {
            "domains" => new SavedLearnerState(null!, Optimizer),
            "learner" => new SavedLearnerState(new Dictionary<string, SavedDomainLearner> { ["d1"] = null! }, Optimizer),
            "history" => new SavedLearnerState(new Dictionary<string, SavedDomainLearner> { ["d1"] = Learner() with { History = null! } }, Optimizer),
            "previous_params" => new SavedLearnerState(new Dictionary<string, SavedDomainLearner> { ["d1"] = Learner() with { PreviousParams = null! } }, Optimizer),
            "optimizer" => new SavedLearnerState(domains, null!),
            "pending pack" => new SavedLearnerState(domains, Optimizer, Pending(null)),
            "pending keys" => new SavedLearnerState(domains, Optimizer, Pending(Pack with { Keys = null! })),
            "pending key" => new SavedLearnerState(domains, Optimizer, Pending(Pack with { Keys = [null!] })),
            _ => new SavedLearnerState(domains, Optimizer, Pending(Pack with { Vector = null! })),
        };
    }

    [Theory]
    [MemberData(nameof(KeyedParts))]
    public void A_learner_state_with_a_null_part_is_refused_naming_it_and_nothing_is_saved(string part, string field)
    {
        var storage = Storage();
        storage.SavePrior(Prior(1.0), null, new SavedLearnerState(new Dictionary<string, SavedDomainLearner> { ["d0"] = Learner() }, Optimizer));

        var error = Assert.Throws<InvalidInputException>(() => storage.SavePrior(Prior(2.0), null, KeyedWithNull(part)));

        Assert.StartsWith($"{field}: ", error.Message, StringComparison.Ordinal);
        var kept = storage.LoadPriorWithSequences()!;
        Assert.Equal(1.0, kept.Prior["tau"]);
        Assert.Equal(["d0"], kept.Learners!.Domains.Keys);
        // The storage still saves: a good state after the refused one.
        storage.SavePrior(Prior(3.0), null, new SavedLearnerState(new Dictionary<string, SavedDomainLearner> { ["d3"] = Learner() }, Optimizer));
        var saved = storage.LoadPriorWithSequences()!;
        Assert.Equal(3.0, saved.Prior["tau"]);
        Assert.Equal(["d3"], saved.Learners!.Domains.Keys);
    }

    public static TheoryData<string, string> DenseParts => new()
    {
        { "last_scores", "dense_lane_state.last_scores" },
        { "score", "dense_lane_state.last_scores.a" },
        { "optimizer", "dense_lane_state.optimizer" },
    };

    [Theory]
    [MemberData(nameof(DenseParts))]
    public void A_dense_lane_state_with_a_null_part_is_refused_naming_it_and_nothing_is_written(string part, string field)
    {
        var storage = Storage();
        var good = new SavedDenseLaneState(Optimizer, new Dictionary<string, SavedDenseScore> { ["a"] = new(1, 0.5, 0.0) });
        var first = storage.SaveDensePrior([1f, 2f], 1, new Dictionary<string, long> { ["a"] = 1 }, good);
        var bad = part switch
        {
            "last_scores" => good with { LastScores = null! },
            "score" => good with { LastScores = new Dictionary<string, SavedDenseScore> { ["a"] = null! } },
            _ => good with { Optimizer = null! },
        };

        var error = Assert.Throws<InvalidInputException>(() => storage.SaveDensePrior([3f, 4f], 2, new Dictionary<string, long> { ["a"] = 2 }, bad));

        Assert.StartsWith($"{field}: ", error.Message, StringComparison.Ordinal);
        var kept = storage.LoadDensePrior()!;
        Assert.Equal([1f, 2f], kept.Values);
        Assert.Equal(0.5, storage.LoadDenseLaneState(first)!.LastScores["a"].Score);
        var next = storage.SaveDensePrior([5f, 6f], 3, new Dictionary<string, long> { ["a"] = 3 }, good);
        Assert.Equal([5f, 6f], storage.LoadDensePrior()!.Values);
        Assert.NotNull(storage.LoadDenseLaneState(next));
    }
}
