namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// The timed repeats of one row: up to the asked count, stopped early by the row budget under
/// <see cref="Stopwatches.BudgetSpent"/>'s rule. For <see cref="Stopwatches.Time"/> and the host workloads that time
/// their own repeats. Room for the times grows with them: a slot per asked repeat up front (int.MaxValue of them)
/// was an OutOfMemoryException before the first call.
/// </summary>
public sealed class RowRepeats(int repeats, TimeSpan budget)
{
    private readonly List<double> _milliseconds = new(Math.Min(repeats, 64));
    private TimeSpan _total;

    /// <summary>Whether another repeat is to be timed.</summary>
    public bool More => _milliseconds.Count < repeats && !Stopwatches.BudgetSpent(_milliseconds.Count, _total, budget);

    /// <summary>The times so far, in milliseconds (each repeat's over <c>per</c>).</summary>
    public IReadOnlyList<double> Milliseconds => _milliseconds;

    /// <summary>One repeat that took <paramref name="elapsed"/>, recorded as <paramref name="elapsed"/> /
    /// <paramref name="per"/> (the time of one of its <paramref name="per"/> calls).</summary>
    public void Add(TimeSpan elapsed, double per = 1)
    {
        _total += elapsed;
        _milliseconds.Add(elapsed.TotalMilliseconds / per);
    }
}
