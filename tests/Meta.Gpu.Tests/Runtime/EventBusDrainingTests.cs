using System.Collections.Concurrent;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Runtime;

/// <summary>
/// The in-process bus while it drains (<see cref="EventBus"/>: "ShutdownAsync refuses new publishes from outside at
/// once, lets queued deliveries (and what their handlers publish) drain up to the timeout"): the drain is one, begun by
/// the first call; an outside publish meanwhile is refused, and a later call does not start a drain of its own.
/// </summary>
public sealed class EventBusDrainingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task An_outside_publish_while_the_bus_drains_is_refused_at_once()
    {
        var bus = new EventBus();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = new ConcurrentQueue<int>();
        using var s = bus.Subscribe("t", async (e, _) =>
        {
            started.TrySetResult();
            await gate.Task;
            seen.Enqueue(BusPayload.As<int>(e.Payload));
        });
        await bus.PublishAsync("t", 1);
        await started.Task.WaitAsync(Patience);

        var shutdown = bus.ShutdownAsync(Patience);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => bus.PublishAsync("t", 2).AsTask().WaitAsync(Patience));

        Assert.Contains("shut down", error.Message, StringComparison.Ordinal);
        Assert.False(shutdown.IsCompleted);
        gate.TrySetResult();
        await shutdown.WaitAsync(Patience);
        Assert.Equal([1], seen);
        Assert.Equal(1, bus.Stats.Published);
    }

    [Fact]
    public async Task A_second_shutdown_during_the_drain_joins_it_and_does_not_cut_it_short_with_its_own_limit()
    {
        var log = new RecordingLogger();
        var bus = new EventBus(new EventBusOptions(Logger: log));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = new ConcurrentQueue<int>();
        using var s = bus.Subscribe("t", async (e, _) =>
        {
            started.TrySetResult();
            await gate.Task;
            seen.Enqueue(BusPayload.As<int>(e.Payload));
        });
        for (var i = 0; i < 3; i++) await bus.PublishAsync("t", i);
        await started.Task.WaitAsync(Patience);

        var first = bus.ShutdownAsync(Patience);
        var second = bus.ShutdownAsync(TimeSpan.Zero);
        await Task.WhenAny(second, Task.Delay(200));
        gate.TrySetResult();
        await first.WaitAsync(Patience);
        await second.WaitAsync(Patience);

        Assert.Equal([0, 1, 2], seen);
        Assert.Empty(log.AtLeast(LogLevel.Warning));
    }
}
