using Meta.Gpu.Storage;

namespace Meta.Gpu.Learning;

/// <summary>
/// Where the learning agent keeps its global keyed prior (DESIGN §10, §11). <c>MetaStorageManager</c> provides
/// the durable one (atomic writes, backups); <see cref="InMemoryPriorStore"/> keeps it in memory.
/// </summary>
public interface IPriorStore
{
    /// <summary>Saves the whole prior (keys in ordinal order).</summary>
    void SavePrior(IReadOnlyDictionary<string, double> prior);

    /// <summary>The last saved prior; null when none was saved.</summary>
    IReadOnlyDictionary<string, double>? LoadPrior();

    /// <summary>Saves the whole prior and, in the same atomic write, the last applied policy-pack sequence of
    /// every domain (DESIGN §10: the agent acknowledges a pack to the broker only after this returns).</summary>
    void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences);

    /// <summary>The last saved prior with its sequences (empty when saved without); null when none was saved.</summary>
    SavedPrior? LoadPriorWithSequences();

    /// <summary>Bytes the store holds (for meta_storage_mb); 0 when it does not know.</summary>
    long SizeBytes();
}
