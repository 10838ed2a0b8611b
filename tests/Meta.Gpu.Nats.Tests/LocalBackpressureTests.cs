using System.Collections.Concurrent;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// Backpressure across the broker for this process's own telemetry: a message it published stays counted until
/// its subscribers' queues hold it. Counted off as soon as it came back from the broker, a waiting publisher saw
/// room while the message was still being read, and went past a full queue (CI caught it, about once in a few
/// dozen runs under load, on small messages; large ones take long enough to read that it happens every time).
/// </summary>
public sealed class LocalBackpressureTests(NatsServerFixture fixture) : IClassFixture<NatsServerFixture>
{
    [Fact]
    public async Task A_returning_message_does_not_open_room_before_it_is_queued()
    {
        var options = Buses.Options(fixture.Require()) with { QueueCapacity = 1, DurableTopics = [], DenseTopics = [] };
        await using var bus = await Buses.ConnectAsync(options);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = new ConcurrentQueue<int>();
        using var slow = bus.Subscribe("t", async (e, _) =>
        {
            started.TrySetResult();
            await gate.Task;
            seen.Enqueue(BusPayload.As<int[]>(e.Payload)![0]);
        });
        // About 600 KB of JSON: reading one back takes milliseconds, the gap a waiting publisher slipped through.
        static int[] Large(int tag)
        {
            var values = Enumerable.Range(0, 100_000).ToArray();
            values[0] = tag;
            return values;
        }

        await bus.PublishAsync("t", Large(0));
        await started.Task.WaitAsync(Buses.Patience);
        // The handler holds message 0; the queue (capacity 1) takes message 1; every later publish must wait.
        await bus.PublishAsync("t", Large(1)).AsTask().WaitAsync(Buses.Patience);
        var blocked = bus.PublishAsync("t", Large(2)).AsTask();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        while (!blocked.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.False(blocked.IsCompleted, "publish went past a full queue");

        gate.SetResult();
        await blocked.WaitAsync(Buses.Patience);
        await bus.WaitForIdleAsync().WaitAsync(Buses.Patience);
        Assert.Equal([0, 1, 2], seen);
    }
}
