using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// A bus that stops cleanly proves that the broker read its acknowledgements before the connection closes. NATS.Net
/// closes the socket before writing what is still in its queue, and a loaded CI machine once lost the last
/// acknowledgement of an agent that had just saved: the broker delivered that pack again to the next agent, which
/// counted it stale.
/// </summary>
public sealed class ClosingAcknowledgementTests
{
    private const string Pack = "federation.policy_pack";

    [Fact]
    public async Task A_clean_stop_after_acknowledging_leaves_nothing_unacknowledged_and_warns_of_nothing()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server);
        var log = new RecordingLogger();
        var bus = await NatsEventBus.ConnectAsync(options, logger: log);
        var handled = 0;
        using (bus.Subscribe(Pack, (_, _) => { Interlocked.Increment(ref handled); return ValueTask.CompletedTask; }))
        {
            await bus.WhenSubscribedAsync();
            await using (var domain = await Buses.ConnectAsync(options))
                for (var i = 1; i <= 20; i++) await domain.PublishAsync(Pack, Buses.PolicyPack("d1", i));
            var deadline = DateTime.UtcNow + Buses.Patience;
            while (Volatile.Read(ref handled) < 20 && DateTime.UtcNow < deadline) await Task.Delay(10);
        }
        await bus.DisposeAsync();

        Assert.Empty(log.AtLeast(LogLevel.Warning));
        await using var after = await Buses.ConnectAsync(options);
        var stream = await after.JetStream.GetStreamAsync(NatsSubjects.StreamName(options.SubjectPrefix, Pack));
        var consumer = await after.JetStream.GetConsumerAsync(stream.Info.Config.Name!, options.DurableName);
        Assert.Equal(0, consumer.Info.NumAckPending);
        Assert.Equal(0UL, consumer.Info.NumPending);
    }

    [Fact]
    public async Task A_clean_stop_the_broker_does_not_answer_says_its_last_acknowledgements_may_be_delivered_again()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { ConnectTimeout = TimeSpan.FromSeconds(2) };
        var log = new RecordingLogger();
        var bus = await NatsEventBus.ConnectAsync(options, logger: log);
        var handled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (bus.Subscribe(Pack, (_, _) => { handled.TrySetResult(); return ValueTask.CompletedTask; }))
        {
            await bus.WhenSubscribedAsync();
            await using (var domain = await Buses.ConnectAsync(options))
                await domain.PublishAsync(Pack, Buses.PolicyPack("d1", 1));
            await handled.Task.WaitAsync(Buses.Patience);
            await bus.WaitForIdleAsync().WaitAsync(Buses.Patience);
        }

        // No subscriber left: the drain has nothing to wait for, and only the closing ping meets the frozen broker.
        server.Freeze();
        try
        {
            await bus.DisposeAsync().AsTask().WaitAsync(Buses.Patience);
        }
        finally
        {
            server.Thaw();
        }
        var warning = Assert.Single(log.AtLeast(LogLevel.Warning));
        Assert.Contains("answered nothing within 2 s at the stop; acknowledgements sent just before may not have reached it", warning.Message, StringComparison.Ordinal);
    }
}
