using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>
/// A prior write that keeps failing while its state write succeeds (a folder where the prior file goes): each
/// attempt copied its state into the backups, and only a committed prior pruned them, so they grew by one a round for
/// as long as the failure lasted. The backups stay within the retention (one at a retention of 0: the copy that
/// names the prior on disk), and that copy still loads once the prior is back.
/// </summary>
public sealed class FailingPriorWriteStateBackupsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private MetaStorageManager Storage(int retention) => new(new StorageConfig(_folder.Path, retention));

    private static SavedLearnerState State(double ema) => new(
        new Dictionary<string, SavedDomainLearner>
        {
            ["a"] = new(ema, ema, 0.5, [ema], new Dictionary<string, double> { ["tau"] = 1.0 }, 1, null),
        },
        new SavedOptimizerState(0.1, 0.2));

    private static SavedDenseLaneState DenseState(double beta) =>
        new(new SavedOptimizerState(beta, 0.2), new Dictionary<string, SavedDenseScore> { ["a"] = new(1, 0.5, 0.8) });

    private static readonly Dictionary<string, double> Prior = new() { ["tau"] = 1.5 };

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void Failing_prior_writes_keep_the_state_backups_within_the_retention(int retention)
    {
        var storage = Storage(retention);
        storage.SavePrior(Prior, new Dictionary<string, long> { ["a"] = 1 }, State(1));
        var aside = storage.PriorPath + ".aside";
        File.Move(storage.PriorPath, aside);
        Directory.CreateDirectory(Path.Combine(storage.PriorPath, "x")); // the prior's rename now fails

        for (var round = 2; round < retention + 5; round++)
            Assert.ThrowsAny<IOException>(() => storage.SavePrior(Prior, new Dictionary<string, long> { ["a"] = round }, State(round)));

        Assert.InRange(storage.ListBackups(MetaStorageManager.LearnerStateFileName).Count, 0, Math.Max(retention, 1));
        Directory.Delete(storage.PriorPath, recursive: true);
        File.Move(aside, storage.PriorPath);
        var loaded = storage.LoadPriorWithSequences()!;
        Assert.Equal(1, loaded.LastSequences["a"]);
        Assert.Equal(1.0, loaded.Learners!.Domains["a"].EmaScore);

        storage.SavePrior(Prior, new Dictionary<string, long> { ["a"] = 9 }, State(9));
        Assert.Equal(Math.Min(retention, 2), storage.ListBackups(MetaStorageManager.LearnerStateFileName).Count); // two saves committed
        Assert.Equal(9.0, storage.LoadPriorWithSequences()!.Learners!.Domains["a"].EmaScore);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void Failing_dense_prior_writes_keep_the_dense_state_backups_within_the_retention(int retention)
    {
        var storage = Storage(retention);
        storage.SaveDensePrior([1f, 2f], 1, new Dictionary<string, long> { ["a"] = 1 }, DenseState(0.1));
        var aside = storage.DensePriorPath + ".aside";
        File.Move(storage.DensePriorPath, aside);
        Directory.CreateDirectory(Path.Combine(storage.DensePriorPath, "x")); // the dense prior's rename now fails

        for (var round = 2; round < retention + 5; round++)
            Assert.ThrowsAny<IOException>(() => storage.SaveDensePrior([round, 2f], round, new Dictionary<string, long> { ["a"] = round }, DenseState(0.1 * round)));

        Assert.InRange(storage.ListBackups(MetaStorageManager.DenseLaneStateFileName).Count, 0, Math.Max(retention, 1));
        Directory.Delete(storage.DensePriorPath, recursive: true);
        File.Move(aside, storage.DensePriorPath);
        var prior = storage.LoadDensePrior()!;
        Assert.Equal([1f, 2f], prior.Values);
        Assert.Equal(0.1, storage.LoadDenseLaneState(prior.Checksum)!.Optimizer.Beta);
    }
}
