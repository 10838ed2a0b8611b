namespace Meta.Gpu.Learning;

/// <summary>A prior store in memory: for tests, replays and runs that need no persistence. Thread-safe.</summary>
public sealed class InMemoryPriorStore : IPriorStore
{
    private readonly Lock _gate = new();
    private SortedDictionary<string, double>? _prior;

    /// <summary>How many times the prior was saved.</summary>
    public int Saves { get; private set; }

    public void SavePrior(IReadOnlyDictionary<string, double> prior)
    {
        ArgumentNullException.ThrowIfNull(prior);
        var copy = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in prior) copy[key] = value;
        lock (_gate)
        {
            _prior = copy;
            Saves++;
        }
    }

    public IReadOnlyDictionary<string, double>? LoadPrior()
    {
        lock (_gate) return _prior is null ? null : new SortedDictionary<string, double>(_prior, StringComparer.Ordinal);
    }

    public long SizeBytes() => 0;
}
