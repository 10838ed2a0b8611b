namespace Meta.Gpu.Runtime;

/// <summary>
/// The drain limit a bus's <see cref="IEventBus.ShutdownAsync"/> takes: zero or more, or
/// <see cref="Timeout.InfiniteTimeSpan"/> for no limit. A limit longer than a timer can measure (about 24.8 days;
/// <see cref="TimeSpan.MaxValue"/> is the natural way to write "wait for ever") means no limit too, instead of the
/// timer's ArgumentOutOfRangeException halfway through a shutdown.
/// </summary>
public static class DrainTimeout
{
    /// <summary>The longest limit a timer or a timed cancellation takes (int.MaxValue milliseconds).</summary>
    public static readonly TimeSpan LongestTimed = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary><paramref name="timeout"/> itself, or <see cref="Timeout.InfiniteTimeSpan"/> when it is that or longer
    /// than <see cref="LongestTimed"/>; throws <see cref="ArgumentOutOfRangeException"/> naming
    /// <paramref name="name"/> for any other negative value.</summary>
    public static TimeSpan Normalise(TimeSpan timeout, string name)
    {
        if (timeout == Timeout.InfiniteTimeSpan || timeout > LongestTimed) return Timeout.InfiniteTimeSpan;
        if (timeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(name, timeout, $"{name} must be >= 0 or infinite");
        return timeout;
    }
}
