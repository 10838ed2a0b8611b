using System.Text.Json.Nodes;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// The warnings of a bus that waited in vain say what it waited for. The drain's read "0 deliveries unfinished" when
/// the broker still held messages for the process's consumer (stray updates after a bus demo's last round), and the
/// stall recovery's "replacing it failed (A task was canceled.)" when the broker did not answer.
/// </summary>
public sealed class DrainWarningTests
{
    private const string Pack = "federation.policy_pack";

    private static string Warnings(RecordingLogger log) =>
        string.Join(" | ", log.AtLeast(LogLevel.Warning).Select(e => e.Message));

    [Fact]
    public async Task A_drain_that_times_out_on_a_running_handler_says_one_delivery_is_being_handled()
    {
        await using var server = await NatsServer.StartAsync();
        var log = new RecordingLogger();
        await using var bus = await NatsEventBus.ConnectAsync(Buses.Options(server), logger: log);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = bus.Subscribe("telemetry", async (_, token) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
        });
        await bus.WhenSubscribedAsync();
        await bus.PublishAsync("telemetry", new JsonObject { ["i"] = 1 });
        await started.Task.WaitAsync(Buses.Patience);

        await bus.ShutdownAsync(TimeSpan.FromSeconds(1));

        var warning = Assert.Single(log.AtLeast(LogLevel.Warning), e => e.Message.Contains("drain timed out", StringComparison.Ordinal));
        Assert.Contains("waiting for 1 delivery queued or being handled", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_drain_that_times_out_on_a_message_another_process_of_the_prefix_holds_names_the_topic_and_the_message()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server);
        // Another process of the prefix takes the pack and holds it unacknowledged.
        await using var other = await Buses.ConnectAsync(options);
        var taken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var holding = other.Subscribe(Pack, async (_, token) =>
        {
            taken.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
        });
        await other.WhenSubscribedAsync();
        await using (var domain = await Buses.ConnectAsync(options))
            await domain.PublishAsync(Pack, Buses.PolicyPack("d1", 1));
        await taken.Task.WaitAsync(Buses.Patience);

        // This process reads the same topic and has nothing left of its own when it stops.
        var log = new RecordingLogger();
        await using var bus = await NatsEventBus.ConnectAsync(options, logger: log);
        using var reading = bus.Subscribe(Pack, (_, _) => ValueTask.CompletedTask);
        await bus.WhenSubscribedAsync();
        // Long enough for the broker's first answer on a loaded machine (the drain names what an answer reported).
        await bus.ShutdownAsync(TimeSpan.FromSeconds(3));

        var warning = Assert.Single(log.AtLeast(LogLevel.Warning), e => e.Message.Contains("drain timed out", StringComparison.Ordinal));
        Assert.Contains($"waiting for {Pack}: 0 messages on the broker not yet delivered to this process, 1 message delivered (here or to another process of the prefix) and not acknowledged",
            warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("0 deliveries", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_drain_that_times_out_on_a_frozen_broker_says_it_waited_for_the_broker_not_for_what_an_earlier_wait_found()
    {
        await using var server = await NatsServer.StartAsync();
        var log = new RecordingLogger();
        await using var bus = await NatsEventBus.ConnectAsync(Buses.Options(server), logger: log);
        using var reading = bus.Subscribe(Pack, (_, _) => ValueTask.CompletedTask);
        await bus.WhenSubscribedAsync();
        await bus.WaitForIdleAsync().WaitAsync(Buses.Patience);

        server.Freeze();
        try
        {
            await bus.ShutdownAsync(TimeSpan.FromSeconds(1));
        }
        finally
        {
            server.Thaw();
        }

        var warning = Assert.Single(log.AtLeast(LogLevel.Warning), e => e.Message.Contains("drain timed out", StringComparison.Ordinal));
        Assert.Contains("waiting for the broker's answer", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_consumer_stall_whose_replacement_the_frozen_broker_never_answers_says_so_rather_than_a_cancelled_task()
    {
        await using var server = await NatsServer.StartAsync();
        var log = new RecordingLogger();
        var options = Buses.Options(server) with { ConsumeStallTimeout = NatsBusOptions.MinConsumeStallTimeout };
        await using var bus = await NatsEventBus.ConnectAsync(options, logger: log);
        using var reading = bus.Subscribe(Pack, (_, _) => ValueTask.CompletedTask);
        await bus.WhenSubscribedAsync();

        // Silent pulls for the stall timeout, then the lookup of the consumer unanswered for as long again (after a
        // pause of up to 2 s).
        server.Freeze();
        try
        {
            var seconds = options.ConsumeStallTimeout.TotalSeconds;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(4 * seconds + 10);
            while (!Warnings(log).Contains("replacing it failed", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
                await Task.Delay(100);
            var warning = Assert.Single(log.AtLeast(LogLevel.Warning), e => e.Message.Contains("replacing it failed", StringComparison.Ordinal));
            Assert.Contains($"replacing it failed (the broker answered nothing within {seconds} s)", warning.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("canceled", warning.Message, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            server.Thaw();
        }
    }
}
