using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// README "Storage": "a truncated or corrupt file is detected, and loading falls back to the newest valid backup".
/// The JSON files end in a newline after their closing brace, outside every checksum: a <c>global_prior.json</c> cut
/// by that last byte parsed and passed its checksums, so it loaded as whole, while its bytes no longer matched the
/// SHA-256 every learner state names; the learners started fresh (a warning) although the newest backup held the
/// very prior the newest state belongs to. Every truncation is detected, as the dense file's are.
/// </summary>
public sealed class JsonFileTruncationTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static SavedLearnerState State(double ema) => new(
        new Dictionary<string, SavedDomainLearner> { ["a"] = new(ema, 0.5, 0.5, [0.1], new Dictionary<string, double> { ["tau"] = 1.0 }, 2, 1) },
        new SavedOptimizerState(0.1, 0.2));

    [Fact]
    public void Every_truncation_of_the_prior_file_falls_back_to_the_backup_with_its_learners()
    {
        var storage = new MetaStorageManager(new StorageConfig(_folder.Path));
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 1.0 }, new Dictionary<string, long> { ["a"] = 1 }, State(0.25));
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 2.0 }, new Dictionary<string, long> { ["a"] = 2 }, State(0.75));
        var whole = File.ReadAllBytes(storage.PriorPath);

        for (var length = 0; length < whole.Length; length++)
        {
            File.WriteAllBytes(storage.PriorPath, whole[..length]);

            var loaded = storage.LoadPriorWithSequences()!;

            Assert.Equal(2.0, loaded.Prior["tau"]);
            Assert.True(loaded.Learners is not null, $"cut to {length} of {whole.Length} bytes: the learners' state was not restored");
            Assert.Equal(0.75, loaded.Learners.Domains["a"].EmaScore);
        }
    }
}
