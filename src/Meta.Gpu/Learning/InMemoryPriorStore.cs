using Meta.Gpu.Storage;

namespace Meta.Gpu.Learning;

/// <summary>A prior store in memory: for tests, replays and runs that need no persistence. Thread-safe.</summary>
public sealed class InMemoryPriorStore : IPriorStore
{
    private readonly Lock _gate = new();
    private SortedDictionary<string, double>? _prior;
    private SortedDictionary<string, long> _sequences = new(StringComparer.Ordinal);
    private SavedLearnerState? _learners;

    /// <summary>How many times the prior was saved.</summary>
    public int Saves { get; private set; }

    public void SavePrior(IReadOnlyDictionary<string, double> prior) =>
        SavePrior(prior, new SortedDictionary<string, long>(StringComparer.Ordinal));

    public void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences) =>
        Save(prior, lastSequences, null);

    /// <summary>Keeps the learners' state with the prior (one assignment under the lock: they change together).</summary>
    public void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences, SavedLearnerState learners)
    {
        ArgumentNullException.ThrowIfNull(learners);
        Save(prior, lastSequences, learners);
    }

    private void Save(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences, SavedLearnerState? learners)
    {
        ArgumentNullException.ThrowIfNull(prior);
        ArgumentNullException.ThrowIfNull(lastSequences);
        var sequences = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (domain, sequence) in lastSequences) sequences[domain] = sequence;
        var copy = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in prior) copy[key] = value;
        lock (_gate)
        {
            _prior = copy;
            _sequences = sequences;
            _learners = learners;
            Saves++;
        }
    }

    public IReadOnlyDictionary<string, double>? LoadPrior()
    {
        lock (_gate) return _prior is null ? null : new SortedDictionary<string, double>(_prior, StringComparer.Ordinal);
    }

    public SavedPrior? LoadPriorWithSequences()
    {
        lock (_gate)
            return _prior is null ? null : new SavedPrior(new SortedDictionary<string, double>(_prior, StringComparer.Ordinal),
                new SortedDictionary<string, long>(_sequences, StringComparer.Ordinal), _learners);
    }

    public long SizeBytes() => 0;
}
