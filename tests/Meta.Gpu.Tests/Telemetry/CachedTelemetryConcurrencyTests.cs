using System.Collections.Concurrent;
using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// CachedTelemetrySource says "Thread-safe: concurrent callers past the interval wait for one read rather than each
/// reading": with many readers and a clock moving under them, the device is read at most once per interval, every
/// read is counted, and every reader gets a sample the device produced.
/// </summary>
public sealed class CachedTelemetryConcurrencyTests
{
    [Fact]
    public void Readers_racing_a_moving_clock_cause_at_most_one_read_per_interval()
    {
        var time = new FakeTimeProvider();
        var device = new ScriptedMemorySource(0.25);
        using var cached = new CachedTelemetrySource(device, TimeSpan.FromMilliseconds(10), time);
        const int readers = 8;
        const int steps = 500;
        var start = new Barrier(readers + 1);
        var failures = new ConcurrentQueue<string>();
        var done = 0;
        var threads = Enumerable.Range(0, readers).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                while (Volatile.Read(ref done) == 0)
                {
                    var util = cached.Sample().VramUtil;
                    if (util is not (0.25 or 0.75)) failures.Enqueue($"a sample the device never produced: {util}");
                }
            }
            catch (Exception e)
            {
                failures.Enqueue(e.ToString());
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        start.SignalAndWait();
        // On a loaded 2-core machine the readers may not have run yet: the clock moves only once one has read.
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref device.Reads) > 0, TimeSpan.FromSeconds(30)), "no reader read the device");
        for (var i = 0; i < steps; i++)
        {
            device.Util = i % 2 == 0 ? 0.75 : 0.25;
            time.Advance(TimeSpan.FromMilliseconds(10));
            Thread.SpinWait(200);
        }
        Volatile.Write(ref done, 1);
        threads.ForEach(t => t.Join());

        Assert.Empty(failures);
        Assert.Equal(device.Reads, cached.Reads);
        Assert.InRange(device.Reads, 1, steps + 1);
    }
}
