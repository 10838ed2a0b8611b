using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// Storage refusals show the refused number as the file writes it (a decimal point, an ASCII minus) whatever the
/// culture of the application that embeds the library: a state refused at save named "got 1,5" under de-DE, and a
/// negative retention or round "got −1" (U+2212) under sv-SE or fa-IR. The files themselves are culture-free
/// (<c>LearnerStateFileTests.The_state_reads_back_exactly_whatever_the_culture</c>).
/// </summary>
public sealed class StorageCultureTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private MetaStorageManager Storage() => new(new StorageConfig(_folder.Path, 2));

    private static readonly Dictionary<string, double> Prior = new() { ["tau"] = 1.0 };

    private static readonly SavedLearnerState Learners = new(
        new Dictionary<string, SavedDomainLearner> { ["a"] = new(0.5, 0.5, 0.2, [0.1], new Dictionary<string, double> { ["tau"] = 1.0 }, 1, null) },
        new SavedOptimizerState(0.1, 0.3));

    private static readonly SavedDenseLaneState DenseState =
        new(new SavedOptimizerState(0.1, 0.3), new Dictionary<string, SavedDenseScore> { ["a"] = new(1, 0.5, 0) });

    [Theory]
    [InlineData("retention", "storage.retention: must be >= 0, got -1")]
    [InlineData("confidence", "learners.domains.a.confidence: must be in [0, 1], got 1.5")]
    [InlineData("optimizer.beta", "learners.optimizer.beta: must be a finite number >= 0, got -0.5")]
    [InlineData("dense.beta", "dense_lane.optimizer.beta: must be a finite number >= 0, got -0.5")]
    [InlineData("round", "dense prior: round must be >= 0, got -1")]
    public void A_refused_number_is_shown_invariantly(string what, string expected)
    {
        Action save = what switch
        {
            "retention" => () => new StorageConfig(_folder.Path, -1).Validated(),
            "confidence" => () => Storage().SavePrior(Prior, null, Learners with
            {
                Domains = new Dictionary<string, SavedDomainLearner> { ["a"] = Learners.Domains["a"] with { Confidence = 1.5 } },
            }),
            "optimizer.beta" => () => Storage().SavePrior(Prior, null, Learners with { Optimizer = new SavedOptimizerState(-0.5, 0.3) }),
            "dense.beta" => () => Storage().SaveDensePrior([1f], 1, new Dictionary<string, long>(), DenseState with { Optimizer = new SavedOptimizerState(-0.5, 0.3) }),
            _ => () => Storage().SaveDensePrior([1f], -1, new Dictionary<string, long>()),
        };

        var message = ForeignCulture.MessageOf(save);

        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dense_lane_state_saved_under_a_decimal_comma_culture_reads_back_exactly()
    {
        var state = new SavedDenseLaneState(new SavedOptimizerState(0.1 * 1.1, -1.0 / 3),
            new Dictionary<string, SavedDenseScore> { ["a"] = new(7, -0.25, 0.1 + 0.2) });
        var checksum = ForeignCulture.Under(() => Storage().SaveDensePrior([0.5f, -1.5f], 3, new Dictionary<string, long> { ["a"] = 7 }, state));

        var loaded = Storage().LoadDenseLaneState(checksum)!;

        Assert.Equal(state.Optimizer, loaded.Optimizer);
        Assert.Equal(state.LastScores, loaded.LastScores);
        Assert.Equal([0.5f, -1.5f], Storage().LoadDensePrior()!.Values);
    }
}
