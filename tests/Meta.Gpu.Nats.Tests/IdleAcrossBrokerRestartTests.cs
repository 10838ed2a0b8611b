namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// <c>WaitForIdleAsync</c> while the broker goes away: the connection dropping under the wait is the broker being
/// away, not the caller cancelling, and the wait goes on until the reconnected broker proves it idle. A `meta-gpu
/// domain` worker, waiting for its update to be stored when the broker was killed, died of an unhandled
/// OperationCanceledException instead.
/// </summary>
public sealed class IdleAcrossBrokerRestartTests
{
    [Fact]
    public async Task A_broker_killed_while_the_wait_for_idle_pings_it_is_waited_through_not_a_cancellation()
    {
        await using var server = await NatsServer.StartAsync();
        await using var bus = await Buses.ConnectAsync(Buses.Options(server));
        // A subscriber of this process: the wait then asks the broker (a ping) whether anything is still owed to it.
        using var subscription = bus.Subscribe("telemetry", (_, _) => ValueTask.CompletedTask);
        await bus.WaitForIdleAsync();

        // Frozen, the broker keeps the connection open and leaves the wait's ping unanswered.
        server.Freeze();
        var idle = bus.WaitForIdleAsync();
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(idle.IsCompleted, "the wait for idle completed against a frozen broker");
        await server.RestartAsync();

        await idle.WaitAsync(Buses.Patience);
    }
}
