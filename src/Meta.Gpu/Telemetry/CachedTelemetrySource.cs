namespace Meta.Gpu.Telemetry;

/// <summary>
/// Bounds how often a telemetry source really reads the device: a sample younger than <see cref="MinInterval"/>
/// is returned again, so any number of readers (supervisor, scheduler, publisher, chunk planning) cost at most one
/// device query per interval.
/// </summary>
/// <remarks>
/// Thread-safe: concurrent callers past the interval wait for one read rather than each reading. A read that throws
/// is not cached; the next call tries again. Time comes from an injectable <see cref="TimeProvider"/>.
/// </remarks>
public sealed class CachedTelemetrySource : IDeviceTelemetrySource, IDisposable
{
    /// <summary>Default interval between real reads: at most 4 device queries a second.</summary>
    public static readonly TimeSpan DefaultMinInterval = TimeSpan.FromMilliseconds(250);

    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private DeviceMemorySample _last;
    private long _lastTimestamp;
    private bool _hasSample;
    private long _reads;
    private bool _disposed;

    /// <param name="inner">The source to read; disposed with this one when it is disposable.</param>
    /// <param name="minInterval">Shortest time between two real reads (default <see cref="DefaultMinInterval"/>;
    /// zero reads every time).</param>
    /// <param name="timeProvider">The clock (default the system's).</param>
    public CachedTelemetrySource(IDeviceTelemetrySource inner, TimeSpan? minInterval = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        var interval = minInterval ?? DefaultMinInterval;
        if (interval < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(minInterval), interval, "the sampling interval must not be negative");
        Inner = inner;
        MinInterval = interval;
        _time = timeProvider ?? TimeProvider.System;
    }

    public IDeviceTelemetrySource Inner { get; }

    public TimeSpan MinInterval { get; }

    /// <summary>Real reads of the inner source so far.</summary>
    public long Reads
    {
        get
        {
            lock (_gate) return _reads;
        }
    }

    public string Device => Inner.Device;

    /// <exception cref="ObjectDisposedException">This source is disposed (a reading still cached is not handed out:
    /// its device may be closed).</exception>
    public DeviceMemorySample Sample()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var now = _time.GetTimestamp();
            // A negative age (a clock that stepped back) makes the sample stale, not young: it was kept until the clock caught up.
            if (_hasSample && _time.GetElapsedTime(_lastTimestamp, now) is var age && age >= TimeSpan.Zero && age < MinInterval) return _last;
            var sample = Inner.Sample();
            _reads++;
            _last = sample;
            _lastTimestamp = now;
            _hasSample = true;
            return sample;
        }
    }

    /// <summary>Disposes the inner source when it is disposable, once; a read in progress finishes first.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            (Inner as IDisposable)?.Dispose();
        }
    }
}
