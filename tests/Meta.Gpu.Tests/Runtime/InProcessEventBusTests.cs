using System.Collections.Concurrent;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Runtime;

/// <summary>The bus contract on the in-process <see cref="EventBus"/>, plus what is specific to it.</summary>
public sealed class InProcessEventBusTests : EventBusContractTests
{
    protected override IEventBus CreateBus(int queueCapacity = 1024, ILogger? logger = null) =>
        new EventBus(new EventBusOptions(QueueCapacity: queueCapacity, Logger: logger));

    [Fact]
    public async Task A_subscriber_of_several_topics_gets_them_in_publish_order_across_the_topics()
    {
        await using var bus = CreateBus();
        var seen = new ConcurrentQueue<string>();
        using var release = new SemaphoreSlim(0);
        using var _ = bus.Subscribe(["a", "b"], async (e, _) =>
        {
            // The first delivery waits, so that everything after it queues up behind it.
            if (e.Topic == "a" && BusPayload.As<int>(e.Payload) == 0) await release.WaitAsync();
            seen.Enqueue($"{e.Topic}{BusPayload.As<int>(e.Payload)}");
        });

        await bus.PublishAsync("a", 0);
        await bus.PublishAsync("b", 1);
        await bus.PublishAsync("b", 2);
        await bus.PublishAsync("a", 3);
        await bus.PublishAsync("b", 4);
        release.Release();
        await bus.WaitForIdleAsync().WaitAsync(Patience);

        Assert.Equal(["a0", "b1", "b2", "a3", "b4"], seen);
    }

    [Fact]
    public void Rejects_a_queue_capacity_below_one()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new EventBus(new EventBusOptions(QueueCapacity: 0)));
        Assert.Contains("queue_capacity", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispose_with_a_configured_limit_longer_than_a_timer_drains_without_one()
    {
        var bus = new EventBus(new EventBusOptions(ShutdownTimeout: TimeSpan.FromDays(60)));
        var count = 0;
        using var s = bus.Subscribe("t", async (_, _) => { await Task.Delay(2); Interlocked.Increment(ref count); });
        for (var i = 0; i < 5; i++) await bus.PublishAsync("t", i);

        await bus.DisposeAsync().AsTask().WaitAsync(Patience);

        Assert.Equal(5, Volatile.Read(ref count));
        await bus.ShutdownAsync(TimeSpan.FromSeconds(1)).WaitAsync(Patience); // idempotent, and no stored failure
    }

    [Fact]
    public void Rejects_a_negative_shutdown_timeout_naming_it()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new EventBus(new EventBusOptions(ShutdownTimeout: TimeSpan.FromSeconds(-1))));
        Assert.Contains("shutdown_timeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shutdown_from_inside_a_handler_fails_instead_of_deadlocking()
    {
        await using var bus = new EventBus();
        var outcome = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var s = bus.Subscribe("t", async (_, _) =>
        {
            try
            {
                await bus.ShutdownAsync(TimeSpan.FromSeconds(1));
                outcome.SetResult(null);
            }
            catch (InvalidOperationException e)
            {
                outcome.SetResult(e);
            }
        });
        await bus.PublishAsync("t", 1);
        Assert.NotNull(await outcome.Task.WaitAsync(Patience));
    }

    [Fact]
    public async Task Delivers_the_published_object_itself()
    {
        await using var bus = new EventBus();
        var payload = new Dictionary<string, double>(StringComparer.Ordinal) { ["tau"] = 1.0 };
        object? received = null;
        using var s = bus.Subscribe("t", (e, _) => { received = e.Payload; return ValueTask.CompletedTask; });
        await bus.PublishAsync("t", payload);
        await bus.WaitForIdleAsync().WaitAsync(Patience);
        Assert.Same(payload, received);
    }
}
