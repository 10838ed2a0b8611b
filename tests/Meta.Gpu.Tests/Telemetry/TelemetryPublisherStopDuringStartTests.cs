using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// A host that stops (or disposes) the publisher while its start is still posting the first sample: the stop returned
/// at once, the host shut its bus down under that post, and the start then went on to create a timer nobody disposed
/// (it ticked for the life of the process); a disposal made the start throw <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class TelemetryPublisherStopDuringStartTests
{
    [Theory]
    [InlineData("stop")]
    [InlineData("dispose")]
    public async Task A_stop_during_the_first_post_waits_for_it_and_leaves_no_timer_running(string how)
    {
        var time = new TimerCountingTime();
        var bus = new HeldPublishBus(heldCall: 1);
        var publisher = new TelemetryPublisher(bus, new ScriptedMemorySource(0.5), TimeSpan.FromSeconds(1), time);

        var start = publisher.StartAsync();
        await bus.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var stop = how == "stop" ? publisher.StopAsync() : publisher.DisposeAsync().AsTask();

        Assert.False(stop.IsCompleted, "the stop returned while the start's post was still in flight");
        bus.Release.SetResult();
        await stop.WaitAsync(TimeSpan.FromSeconds(30));
        await start.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, publisher.Published);
        Assert.Equal(0, time.LiveTimers);
        time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(20);
        Assert.Equal(1, publisher.Published);
        await publisher.DisposeAsync();
    }

    /// <summary>A fake clock that counts the timers made on it and not yet disposed.</summary>
    private sealed class TimerCountingTime : TimeProvider
    {
        private readonly FakeTimeProvider _inner = new();
        private int _live;

        public int LiveTimers => Volatile.Read(ref _live);

        public void Advance(TimeSpan by) => _inner.Advance(by);

        public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow();

        public override long GetTimestamp() => _inner.GetTimestamp();

        public override long TimestampFrequency => _inner.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _live);
            return new CountedTimer(_inner.CreateTimer(callback, state, dueTime, period), this);
        }

        private sealed class CountedTimer(ITimer inner, TimerCountingTime owner) : ITimer
        {
            private int _disposed;

            public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0) Interlocked.Decrement(ref owner._live);
                inner.Dispose();
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
