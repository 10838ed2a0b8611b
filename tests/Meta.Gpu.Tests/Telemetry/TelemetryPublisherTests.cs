using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Meta.Gpu.Tests.Telemetry;

public sealed class TelemetryPublisherTests
{
    [Fact]
    public async Task Posts_a_sample_at_start_then_one_per_interval_until_stopped()
    {
        var time = new FakeTimeProvider();
        var device = new ScriptedMemorySource(0.5);
        await using var bus = new EventBus();
        var posts = new ConcurrentQueue<JsonObject>();
        using var subscription = bus.Subscribe(GovernanceTopics.Telemetry, (e, _) =>
        {
            posts.Enqueue(BusPayload.AsObject(e.Payload, e.Topic));
            return ValueTask.CompletedTask;
        });
        var publisher = new TelemetryPublisher(bus, device, TimeSpan.FromSeconds(2), time);

        await publisher.StartAsync();
        await bus.WaitForIdleAsync();
        Assert.Single(posts);

        time.Advance(TimeSpan.FromSeconds(1));
        await Task.Delay(20);
        Assert.Equal(1, publisher.Published); // not yet an interval

        device.Util = 0.9;
        time.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => publisher.Published == 2);
        time.Advance(TimeSpan.FromSeconds(2));
        await WaitUntilAsync(() => publisher.Published == 3);
        await bus.WaitForIdleAsync();

        var payloads = posts.ToArray();
        Assert.Equal(3, payloads.Length);
        Assert.Equal(["device", "vram_high", "vram_total_gb", "vram_used_gb", "vram_util"], payloads[0].Select(kv => kv.Key).ToArray());
        Assert.Equal("scripted", payloads[0]["device"]!.GetValue<string>());
        Assert.Equal(80.0, payloads[0]["vram_total_gb"]!.GetValue<double>(), 9);
        Assert.Equal(40.0, payloads[0]["vram_used_gb"]!.GetValue<double>(), 6);
        Assert.Equal(0.5, payloads[0]["vram_util"]!.GetValue<double>(), 6);
        Assert.False(payloads[0]["vram_high"]!.GetValue<bool>());
        Assert.True(payloads[1]["vram_high"]!.GetValue<bool>());
        Assert.Equal(72.0, payloads[1]["vram_used_gb"]!.GetValue<double>(), 6);

        await publisher.StopAsync();
        time.Advance(TimeSpan.FromSeconds(10));
        await Task.Delay(20);
        Assert.Equal(3, publisher.Published);
        await publisher.StopAsync(); // idempotent
        await publisher.DisposeAsync();
    }

    [Fact]
    public async Task A_failed_read_is_counted_and_the_timer_goes_on()
    {
        var time = new FakeTimeProvider();
        var device = new ScriptedMemorySource(0.5) { Failure = new InvalidOperationException("driver busy") };
        await using var bus = new EventBus();
        var logger = new TypedRecordingLogger<TelemetryPublisher>();
        await using var publisher = new TelemetryPublisher(bus, device, TimeSpan.FromSeconds(1), time, logger);
        await publisher.StartAsync();
        Assert.Equal(1, publisher.Failures);
        Assert.Equal(0, publisher.Published);
        Assert.Contains(logger.Entries, e => e.Exception?.Message == "driver busy");

        device.Failure = null;
        time.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => publisher.Published == 1);
    }

    /// <summary>A bus whose publishes throw <see cref="Failure"/> while it is set (a broker that dropped the
    /// connection throws I/O and timeout errors, not only InvalidOperationException).</summary>
    private sealed class FailingBus : IEventBus
    {
        public Exception? Failure { get; set; }

        public int Calls;

        public ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Calls);
            return Failure is { } failure ? ValueTask.FromException(failure) : ValueTask.CompletedTask;
        }

        public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler) => throw new NotSupportedException();

        public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;

        public EventBusStats Stats => new(0, 0, 0, 0, 0);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Theory]
    [InlineData("io")]
    [InlineData("timeout")]
    [InlineData("cancelled by the broker")]
    public async Task A_failed_publish_of_any_kind_is_counted_and_the_timer_goes_on(string kind)
    {
        var time = new FakeTimeProvider();
        var bus = new FailingBus();
        var logger = new TypedRecordingLogger<TelemetryPublisher>();
        await using var publisher = new TelemetryPublisher(bus, new ScriptedMemorySource(0.5), TimeSpan.FromSeconds(1), time, logger);
        bus.Failure = kind switch
        {
            "io" => new IOException("broker connection reset"),
            "timeout" => new TimeoutException("no reply from the broker"),
            _ => new OperationCanceledException("the broker's request timed out"),
        };

        await publisher.StartAsync();
        Assert.Equal(1, publisher.Failures);
        time.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => publisher.Failures == 2);
        Assert.Equal(2, logger.Entries.Count(e => e.Exception == bus.Failure));

        bus.Failure = null;
        time.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => publisher.Published == 1);
        await publisher.StopAsync();
    }

    [Fact]
    public async Task Rejects_a_bad_interval_and_a_second_start()
    {
        await using var bus = new EventBus();
        Assert.Throws<ArgumentOutOfRangeException>(() => new TelemetryPublisher(bus, new ScriptedMemorySource(), TimeSpan.Zero));
        await using var publisher = new TelemetryPublisher(bus, new ScriptedMemorySource(), TimeSpan.FromSeconds(1), new FakeTimeProvider());
        await publisher.StartAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => publisher.StartAsync());
    }

    // A start cancelled before its first post got through left the publisher marked started: the retry was refused
    // as "already started", and the host ran without device telemetry.
    [Fact]
    public async Task A_cancelled_start_throws_OperationCanceledException_and_can_be_retried()
    {
        var time = new FakeTimeProvider();
        await using var bus = new EventBus();
        await using var publisher = new TelemetryPublisher(bus, new ScriptedMemorySource(0.5), TimeSpan.FromSeconds(1), time);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => publisher.StartAsync(new CancellationToken(canceled: true)));
        Assert.Equal(0, publisher.Published);
        Assert.Equal(0, publisher.Failures);

        await publisher.StartAsync();
        Assert.Equal(1, publisher.Published);
        time.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => publisher.Published == 2);
    }

    // The second of two disposals at once (a host's stop and its container's dispose) returned at once while the first
    // still waited for the post in progress: the host then shut the bus down under a post it believed finished.
    [Fact]
    public async Task Two_disposals_at_once_both_wait_for_the_post_in_progress()
    {
        var time = new FakeTimeProvider();
        var bus = new HeldPublishBus(heldCall: 2); // the start's post goes through; the timer's first one is held
        var publisher = new TelemetryPublisher(bus, new ScriptedMemorySource(0.5), TimeSpan.FromSeconds(1), time);
        await publisher.StartAsync();
        time.Advance(TimeSpan.FromSeconds(1));
        await bus.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var first = publisher.DisposeAsync().AsTask();
        var second = publisher.DisposeAsync().AsTask();

        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);
        bus.Release.SetResult();
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, publisher.Published);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in 10 s");
            await Task.Delay(5);
        }
    }
}
