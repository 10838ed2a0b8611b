using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>Beside DESIGN §11's files (README "Storage"): <c>learner_state.json</c> and <c>dense_lane_state.json</c>: a stable layout (sorted keys,
/// invariant culture, doubles that read back exactly), checksummed, with backups, naming the prior they belong to.</summary>
public sealed class LearnerStateFileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private MetaStorageManager Storage(int retention = 10) => new(new StorageConfig(_folder.Path, retention));

    private static readonly double[] Awkward = [0.1 + 0.2, 1.0 / 3, double.Epsilon, 1e308, -0.0, 123456789.123456789];

    private static SavedLearnerState State(double shift = 0) => new(
        new Dictionary<string, SavedDomainLearner>
        {
            ["b"] = new(0.1 + 0.2 + shift, 1.0 / 3, 0.2439, [.. Awkward], new Dictionary<string, double> { ["tau"] = double.NaN, ["g_min"] = double.PositiveInfinity, ["a"] = 1e-300 }, 7, 12),
            ["a"] = new(0.5, 0.5, 0.09, [0.5], new Dictionary<string, double> { ["tau"] = 1.0 }, 1, null),
        },
        new SavedOptimizerState(0.1 * 1.1 * 1.1, 0.417));

    private static readonly Dictionary<string, double> Prior = new() { ["tau"] = 1.121, ["g_min"] = 0.01 };

    [Fact]
    public void The_state_reads_back_exactly_whatever_the_culture()
    {
        var culture = CultureInfo.CurrentCulture;
        // A culture that writes a decimal comma (the tests run in globalization-invariant mode: no named cultures).
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        CultureInfo.CurrentCulture = comma;
        try
        {
            Storage().SavePrior(Prior, new Dictionary<string, long> { ["b"] = 12 }, State());
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
        var loaded = Storage().LoadPriorWithSequences()!.Learners!;
        var expected = State();
        Assert.Equal(["a", "b"], loaded.Domains.Keys);
        foreach (var (domain, want) in expected.Domains)
        {
            var got = loaded.Domains[domain];
            Assert.Equal(want.EmaScore, got.EmaScore);
            Assert.Equal(want.LastScore, got.LastScore);
            Assert.Equal(want.Confidence, got.Confidence);
            Assert.Equal(want.History.Select(BitConverter.DoubleToInt64Bits), got.History.Select(BitConverter.DoubleToInt64Bits));
            Assert.Equal(want.PreviousParams.OrderBy(p => p.Key, StringComparer.Ordinal), got.PreviousParams);
            Assert.Equal(want.Observations, got.Observations);
            Assert.Equal(want.LastObservedSequence, got.LastObservedSequence);
        }
        Assert.Equal(expected.Optimizer, loaded.Optimizer);
    }

    private static SavedPendingPack PendingPack(IReadOnlyList<float> vector) =>
        new(12, ["g_min", "tau"], vector, 1.0 / 3, 0.2439, new DateTimeOffset(2026, 11, 27, 23, 0, 0, 123, TimeSpan.FromHours(1)), 0.1 + 0.2);

    [Fact]
    public void A_pending_pack_reads_back_exactly()
    {
        var want = PendingPack([0.1f, float.Epsilon]);
        Storage().SavePrior(Prior, new Dictionary<string, long> { ["b"] = 11 },
            State() with { Pending = new Dictionary<string, SavedPendingPack> { ["b"] = want } });
        var got = Storage().LoadPriorWithSequences()!.Learners!.Pending!["b"];
        Assert.Equal(want.Keys, got.Keys);
        Assert.Equal(want.Vector, got.Vector);
        Assert.Equal(want with { Keys = got.Keys, Vector = got.Vector }, got);
    }

    [Fact]
    public void A_pending_pack_with_a_value_missing_is_refused_naming_the_field()
    {
        var bytes = LearnerStateJson.EncodeKeyed(State() with { Pending = new Dictionary<string, SavedPendingPack> { ["b"] = PendingPack([0.5f]) } },
            new string('0', 64));
        var error = Assert.Throws<InvalidInputException>(() => LearnerStateJson.DecodeKeyed(bytes, "learner_state.json"));
        Assert.Equal("learner_state.json: learners.pending.b.vector: 1 values for 2 keys", error.Message);
    }

    [Fact]
    public void The_layout_is_sorted_and_names_the_prior_file_it_belongs_to()
    {
        var storage = Storage();
        storage.SavePrior(Prior, new Dictionary<string, long>(), State());
        var text = File.ReadAllText(storage.LearnerStatePath);
        var root = JsonNode.Parse(text)!.AsObject();
        Assert.Equal("meta-gpu.learner_state", (string?)root["format"]);
        Assert.Equal(1, (int?)root["version"]);
        var content = root["learners"]!.AsObject();
        Assert.Equal(["domains", "optimizer", "prior_sha256"], content.Select(p => p.Key));
        Assert.Equal(["a", "b"], content["domains"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["confidence", "ema_score", "history", "last_observed_sequence", "last_score", "observations", "previous_params"],
            content["domains"]!["b"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["a", "g_min", "tau"], content["domains"]!["b"]!["previous_params"]!.AsObject().Select(p => p.Key));
        Assert.Contains("0.30000000000000004", text, StringComparison.Ordinal);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(storage.PriorPath))), (string?)content["prior_sha256"]);
    }

    [Fact]
    public void The_state_keeps_as_many_backups_as_the_other_files()
    {
        var storage = Storage(retention: 2);
        for (var i = 0; i < 4; i++) storage.SavePrior(Prior, new Dictionary<string, long> { ["a"] = i }, State(i));
        Assert.Equal(2, storage.ListBackups(MetaStorageManager.LearnerStateFileName).Count);
        Assert.Equal(0.1 + 0.2 + 3, storage.LoadPriorWithSequences()!.Learners!.Domains["b"].EmaScore);
    }

    [Fact]
    public void A_prior_saved_without_a_state_loads_with_none()
    {
        var storage = Storage();
        storage.SavePrior(Prior, new Dictionary<string, long>(), State());
        storage.SavePrior(Prior, new Dictionary<string, long> { ["a"] = 1 });
        // The state on disk names the first prior file, not this one.
        Assert.Null(storage.LoadPriorWithSequences()!.Learners);
    }

    [Fact]
    public void The_dense_state_belongs_to_the_dense_file_it_was_saved_with()
    {
        var storage = Storage();
        var state = new SavedDenseLaneState(new SavedOptimizerState(0.11, 0.3),
            new Dictionary<string, SavedDenseScore> { ["z"] = new(4, 1.5, 0.8), ["a"] = new(2, 0.1 + 0.2, 0) });
        var checksum = storage.SaveDensePrior([1f, 2f], 3, new Dictionary<string, long> { ["a"] = 2, ["z"] = 4 }, state);
        var prior = storage.LoadDensePrior()!;
        Assert.Equal(checksum, prior.Checksum);
        var loaded = storage.LoadDenseLaneState(prior.Checksum)!;
        Assert.Equal(state.Optimizer, loaded.Optimizer);
        Assert.Equal(state.LastScores.OrderBy(p => p.Key, StringComparer.Ordinal), loaded.LastScores);
        Assert.Null(storage.LoadDenseLaneState(new string('0', 64)));
    }

    // Written, such a state was passed over at the next load with a warning and the learners started fresh; the
    // copy before it, naming the prior this save replaced, could not stand in for it, so it was lost too.
    [Theory]
    [InlineData("optimizer.beta")]
    [InlineData("domains.a.confidence")]
    [InlineData("pending.a.vector[0]")]
    public void A_state_its_load_would_refuse_is_refused_naming_the_field_and_nothing_is_saved(string field)
    {
        var storage = Storage();
        storage.SavePrior(Prior, new Dictionary<string, long> { ["a"] = 1 }, State(1));
        var good = State(2);
        var bad = field switch
        {
            "optimizer.beta" => good with { Optimizer = new SavedOptimizerState(double.NaN, 0.4) },
            "domains.a.confidence" => good with { Domains = new Dictionary<string, SavedDomainLearner>(good.Domains) { ["a"] = good.Domains["a"] with { Confidence = 1.5 } } },
            _ => good with { Pending = new Dictionary<string, SavedPendingPack> { ["a"] = new(2, ["tau"], [float.NaN], 0.5, 0.8, DateTimeOffset.UnixEpoch, 0.1) } },
        };

        var error = Assert.Throws<InvalidInputException>(() =>
            storage.SavePrior(new Dictionary<string, double> { ["tau"] = 2 }, new Dictionary<string, long> { ["a"] = 2 }, bad));

        Assert.Contains($"learners.{field}:", error.Message, StringComparison.Ordinal);
        var loaded = storage.LoadPriorWithSequences()!;
        Assert.Equal(Prior, loaded.Prior);
        Assert.Equal(1, loaded.LastSequences["a"]);
        Assert.Equal(0.1 + 0.2 + 1, loaded.Learners!.Domains["b"].EmaScore);
    }

    [Fact]
    public void A_dense_state_its_load_would_refuse_is_refused_naming_the_field_and_nothing_is_saved()
    {
        var storage = Storage();
        var state = new SavedDenseLaneState(new SavedOptimizerState(0.11, 0.3), new Dictionary<string, SavedDenseScore> { ["a"] = new(2, 0.5, 0) });
        storage.SaveDensePrior([1f, 2f], 3, new Dictionary<string, long> { ["a"] = 2 }, state);

        var error = Assert.Throws<InvalidInputException>(() => storage.SaveDensePrior([5f, 6f], 4, new Dictionary<string, long> { ["a"] = 3 },
            state with { Optimizer = new SavedOptimizerState(-0.5, 0.3) }));

        Assert.Contains("dense_lane.optimizer.beta:", error.Message, StringComparison.Ordinal);
        var prior = storage.LoadDensePrior()!;
        Assert.Equal([1f, 2f], prior.Values);
        Assert.Equal(state.Optimizer, storage.LoadDenseLaneState(prior.Checksum)!.Optimizer);
    }

    // The state is written before its prior: its old backups are pruned only once the prior is committed (at a
    // retention of 0 the replaced main file is kept aside until then), so a failed prior write (or a crash between
    // the two) leaves the copy that names the prior on disk.
    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(2)] // passes: the previous state is still among the backups
    public void A_prior_write_that_fails_after_the_state_was_written_keeps_the_previous_state(int retention)
    {
        var storage = Storage(retention);
        storage.SavePrior(Prior, new Dictionary<string, long> { ["a"] = 1 }, State(1));
        var priorPath = storage.PriorPath;
        var moved = priorPath + ".aside";
        File.Move(priorPath, moved);
        Directory.CreateDirectory(Path.Combine(priorPath, "x")); // the prior's rename now fails
        Assert.ThrowsAny<IOException>(() => storage.SavePrior(Prior, new Dictionary<string, long> { ["a"] = 2 }, State(2)));
        Directory.Delete(priorPath, recursive: true);
        File.Move(moved, priorPath); // the first save's prior, as a crash between the two writes leaves it

        var loaded = storage.LoadPriorWithSequences()!;
        Assert.Equal(1, loaded.LastSequences["a"]);
        Assert.NotNull(loaded.Learners);
        Assert.Equal(0.1 + 0.2 + 1, loaded.Learners!.Domains["b"].EmaScore);
    }
}
