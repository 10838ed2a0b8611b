using Meta.Gpu.Storage;

namespace Meta.Gpu.Learning;

/// <summary>
/// Where the learning agent keeps its global keyed prior (DESIGN §10, §11). <c>MetaStorageManager</c> provides
/// the durable one (atomic writes, backups); <see cref="InMemoryPriorStore"/> keeps it in memory.
/// </summary>
/// <remarks>
/// A save that fails must throw <see cref="IOException"/> (or <see cref="UnauthorizedAccessException"/>) and leave
/// the last saved prior as it was: <see cref="MetaLearningAgent"/> then logs it, still publishes the round and holds the
/// round's broker acknowledgements until a later save succeeds. Any other exception is taken for a fault in the store,
/// not a failed save: it ends the keyed lane's round (the prior in memory has moved; nothing of it is published; the
/// dense lane still takes its round) and reaches the bus's handler error count and log. A store over another medium (a database, an object store) wraps its own
/// failures in an <see cref="IOException"/>.
/// </remarks>
public interface IPriorStore
{
    /// <summary>Saves the whole prior (keys in ordinal order).</summary>
    void SavePrior(IReadOnlyDictionary<string, double> prior);

    /// <summary>The last saved prior; null when none was saved.</summary>
    IReadOnlyDictionary<string, double>? LoadPrior();

    /// <summary>Saves the whole prior and, in the same atomic write, the last applied policy-pack sequence of
    /// every domain (DESIGN §10: the agent acknowledges a pack to the broker only after this returns).</summary>
    void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences);

    /// <summary>As <see cref="SavePrior(IReadOnlyDictionary{string, double}, IReadOnlyDictionary{string, long})"/>,
    /// with the learners' state that belongs to this prior (<c>learner_state.json</c>, beside DESIGN §11's files: README "Storage"), saved so that a
    /// crash at any point leaves a prior and a state that <see cref="LoadPriorWithSequences"/> returns together (or
    /// the prior without a state). A store that keeps no learner state saves the prior alone (the default).</summary>
    void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences, SavedLearnerState learners) =>
        SavePrior(prior, lastSequences);

    /// <summary>The last saved prior with its sequences (empty when saved without) and, where the store keeps it,
    /// the learners' state saved with it (<see cref="SavedPrior.Learners"/>); null when none was saved.</summary>
    SavedPrior? LoadPriorWithSequences();

    /// <summary>Bytes the store holds (for meta_storage_mb); 0 when it does not know.</summary>
    long SizeBytes();
}
