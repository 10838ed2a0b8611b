using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// Every name a save writes (prior keys, domain ids, parameter names) must read back as itself. A lone surrogate
/// cannot: the JSON writer and the dense file's encoder wrote it as U+FFFD, so the name came back as another one, or
/// two names that differ only there came back as a duplicate that made the file unreadable (the save returned, the
/// next load fell back to the previous one). Such a save is refused by name and changes no file. The empty name,
/// which the agent takes, reads back.
/// </summary>
public sealed class SavedNameTests : IDisposable
{
    private const string LoneHigh = "a\uD800";
    private const string LoneLow = "a\uDC00";

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private MetaStorageManager Storage() => new(new StorageConfig(_folder.Path));

    private string[] Files() => Directory.GetFiles(_folder.Path, "*", SearchOption.AllDirectories)
        .Select(path => $"{Path.GetRelativePath(_folder.Path, path)} {Convert.ToHexString(File.ReadAllBytes(path))}").Order().ToArray();

    private static SavedLearnerState Learners(string domain, string parameter) => new(
        new Dictionary<string, SavedDomainLearner> { [domain] = new(0.5, 0.5, 0.5, [0.1], new Dictionary<string, double> { [parameter] = 0.3 }, 2, 2) },
        new SavedOptimizerState(0.1, 0.2),
        new Dictionary<string, SavedPendingPack> { [domain] = new(2, [parameter], [0.3f], 0.5, 0.5, DateTimeOffset.UnixEpoch, 0.1) });

    [Fact]
    public void A_prior_save_refuses_a_malformed_name_and_keeps_the_last_save()
    {
        var storage = Storage();
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.0 }, new Dictionary<string, long> { ["d"] = 1 }, Learners("d", "tau"));
        var before = Files();

        void Refused(Action save, string field) =>
            Assert.StartsWith(field + ": a name", Assert.Throws<InvalidInputException>(save).Message, StringComparison.Ordinal);

        Refused(() => storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.5, [LoneHigh] = 2.0, [LoneLow] = 3.0 },
            new Dictionary<string, long> { ["d"] = 2 }), "prior");
        Refused(() => storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.5 }, new Dictionary<string, long> { [LoneLow] = 2 }),
            "last_sequences");
        Refused(() => storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.5 }, null, Learners(LoneHigh, "tau")), "learners.domains");
        Refused(() => storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.5 }, null, Learners("d", LoneLow)),
            "learners.domains.d.previous_params");

        Assert.Equal(before, Files());
        var loaded = storage.LoadPriorWithSequences()!;
        Assert.Equal(1.0, loaded.Prior["tau"]);
        Assert.Equal(1, loaded.LastSequences["d"]);
    }

    [Fact]
    public void A_domain_vectors_save_refuses_a_malformed_name()
    {
        var storage = Storage();
        Assert.StartsWith("domain_vectors.d.keys: a name", Assert.Throws<InvalidInputException>(() =>
            storage.SaveDomainVectors(new Dictionary<string, DomainVector> { ["d"] = new([LoneLow], [1.0]) })).Message, StringComparison.Ordinal);
        Assert.StartsWith("domain_vectors: a name", Assert.Throws<InvalidInputException>(() =>
            storage.SaveDomainVectors(new Dictionary<string, DomainVector> { [LoneHigh] = new(["tau"], [1.0]) })).Message, StringComparison.Ordinal);
        Assert.False(File.Exists(storage.DomainVectorsPath));
    }

    [Fact]
    public void A_dense_save_refuses_a_malformed_domain_id_and_keeps_the_last_save()
    {
        var storage = Storage();
        storage.SaveDensePrior([1f, 2f], 1, new Dictionary<string, long> { ["d"] = 1 });
        var before = Files();

        Assert.Throws<InvalidInputException>(() =>
            storage.SaveDensePrior([3f, 4f], 2, new Dictionary<string, long> { [LoneHigh] = 1, [LoneLow] = 2 }));
        var state = new SavedDenseLaneState(new SavedOptimizerState(0.1, 0.2), new Dictionary<string, SavedDenseScore> { [LoneLow] = new(1, 0.5, 0.4) });
        Assert.StartsWith("dense_lane_state.last_scores: a name", Assert.Throws<InvalidInputException>(() =>
            storage.SaveDensePrior([3f, 4f], 2, new Dictionary<string, long> { ["d"] = 2 }, state)).Message, StringComparison.Ordinal);

        Assert.Equal(before, Files());
        var loaded = storage.LoadDensePrior()!;
        Assert.Equal(1, loaded.Round);
        Assert.Equal(1, loaded.LastSequences["d"]);
    }

    [Fact]
    public void A_pending_pack_with_an_empty_parameter_name_loads_back()
    {
        var storage = Storage();
        storage.SavePrior(new Dictionary<string, double> { [""] = 0.3 }, null, Learners("a", ""));

        var loaded = storage.LoadPriorWithSequences()!;
        Assert.NotNull(loaded.Learners);
        Assert.Equal([""], loaded.Learners.Pending!["a"].Keys);
        Assert.Equal([""], loaded.Learners.Domains["a"].PreviousParams.Keys);
    }
}
