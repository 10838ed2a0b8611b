using Meta.Gpu.Storage;

namespace Meta.Gpu.Learning;

/// <summary>The durable prior store: the global prior in <see cref="MetaStorageManager"/>'s
/// <c>global_prior.json</c> (atomic writes, backups, fallback to the newest valid backup).</summary>
public sealed class StoragePriorStore(MetaStorageManager storage) : IPriorStore
{
    public MetaStorageManager Storage { get; } = storage ?? throw new ArgumentNullException(nameof(storage));

    public void SavePrior(IReadOnlyDictionary<string, double> prior) => Storage.SavePrior(prior);

    /// <exception cref="InvalidDataException">The file and every backup are unusable (never a silent restart
    /// from scratch over a trained prior).</exception>
    public IReadOnlyDictionary<string, double>? LoadPrior() => Storage.LoadPrior();

    public void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences) =>
        Storage.SavePrior(prior, lastSequences);

    public void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences, SavedLearnerState learners) =>
        Storage.SavePrior(prior, lastSequences, learners);

    /// <exception cref="InvalidDataException">The file and every backup are unusable (an unusable learner state
    /// only leaves <see cref="SavedPrior.Learners"/> null, with a warning).</exception>
    public SavedPrior? LoadPriorWithSequences() => Storage.LoadPriorWithSequences();

    public long SizeBytes() => Storage.SizeBytes();
}
