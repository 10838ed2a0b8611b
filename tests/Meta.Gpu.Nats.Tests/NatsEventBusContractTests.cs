using Meta.Gpu.Runtime;
using Meta.Gpu.Tests.Runtime;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Nats.Tests;

/// <summary>The bus contract of DESIGN §3 (the same suite as the in-process bus) on <see cref="NatsEventBus"/>
/// with fire-and-forget (core NATS) topics: every delivery goes through a real broker.</summary>
public sealed class NatsEventBusContractTests(NatsServerFixture fixture) : EventBusContractTests, IClassFixture<NatsServerFixture>
{
    protected override TimeSpan Patience => Buses.Patience;

    protected override IEventBus CreateBus(int queueCapacity = 1024, ILogger? logger = null)
    {
        var options = Buses.Options(fixture.Require()) with { QueueCapacity = queueCapacity, DurableTopics = [], DenseTopics = [] };
        return Task.Run(() => NatsEventBus.ConnectAsync(options, logger: logger)).GetAwaiter().GetResult();
    }
}

/// <summary>The same contract with every topic durable (JetStream stream, durable consumer, acknowledgement
/// after the handlers), which is how domain work travels.</summary>
public sealed class DurableNatsEventBusContractTests(NatsServerFixture fixture) : EventBusContractTests, IClassFixture<NatsServerFixture>
{
    protected override TimeSpan Patience => Buses.Patience;

    protected override IEventBus CreateBus(int queueCapacity = 1024, ILogger? logger = null)
    {
        // Durable topics buffer in the broker's stream (that is what lets domains publish while the aggregator is
        // down), so a publisher never waits for a slow consumer: the backpressure tests do not apply.
        var test = TestContext.Current.Test?.TestDisplayName ?? "";
        if (test.Contains("A_slow_subscriber_makes_publish_wait", StringComparison.Ordinal) || test.Contains("A_cancelled_waiting_publish_throws", StringComparison.Ordinal)
            || test.Contains("A_publish_waiting_for_room_when_the_drain_times_out", StringComparison.Ordinal))
            Assert.Skip("durable topics do not make publishers wait: the JetStream stream is the buffer");
        var options = Buses.Options(fixture.Require()) with { QueueCapacity = queueCapacity, DurableTopics = ["*"], DenseTopics = [] };
        return Task.Run(() => NatsEventBus.ConnectAsync(options, logger: logger)).GetAwaiter().GetResult();
    }
}
