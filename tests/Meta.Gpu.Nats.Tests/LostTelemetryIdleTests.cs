using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Tests;

/// <summary>telemetry this process published to its own subscriber and that the broker lost in a crash can
/// never come back; WaitForIdleAsync must not wait for it for ever (README: it waits through a broker restart).</summary>
public sealed class LostTelemetryIdleTests
{
    [Fact]
    public async Task Own_telemetry_lost_with_a_crashed_broker_does_not_block_WaitForIdle_for_ever()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server);
        await using var bus = await Buses.ConnectAsync(options);
        var received = 0;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = bus.Subscribe("telemetry", (e, _) =>
        {
            Interlocked.Increment(ref received);
            ready.TrySetResult();
            return ValueTask.CompletedTask;
        });
        await bus.PublishAsync("telemetry", new JsonObject { ["tag"] = "ready" });
        await ready.Task.WaitAsync(Buses.Patience);
        await bus.WaitForIdleAsync().WaitAsync(Buses.Patience);

        // The broker freezes, takes the writes into its socket, and dies without routing them.
        server.Freeze();
        for (var i = 0; i < 5; i++) await bus.PublishAsync("telemetry", new JsonObject { ["tag"] = i });
        await Task.Delay(500);
        await server.RestartAsync();
        var deadline = DateTime.UtcNow + Buses.Patience;
        while (bus.NatsStats.Reconnects == 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(bus.NatsStats.Reconnects > 0);

        // After the reconnect, nothing of the five can arrive any more (core NATS is at most once).
        await bus.WaitForIdleAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1, received);
    }
}
