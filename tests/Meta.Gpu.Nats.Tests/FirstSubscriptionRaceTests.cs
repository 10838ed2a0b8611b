namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// A telemetry publish under way while another part of the process makes the topic's first subscription: sent
/// before the subscription reached the broker, the message never comes back. It may go undelivered (it began
/// before the subscription), but it must not stay counted as on its way back to this process's subscriber, which
/// held WaitForIdleAsync (and, past the queue capacity, every later publish of the topic) for ever.
/// </summary>
public sealed class FirstSubscriptionRaceTests(NatsServerFixture fixture) : IClassFixture<NatsServerFixture>
{
    [Fact]
    public async Task A_publish_begun_before_the_first_subscription_does_not_hold_WaitForIdle()
    {
        var options = Buses.Options(fixture.Require()) with { DurableTopics = [], DenseTopics = [] };
        await using var bus = await Buses.ConnectAsync(options);
        List<IDisposable> subscriptions = [];
        try
        {
            // Each subscription is made while its publish serialises the payload, after the publish looked for
            // subscriptions still opening and before it sends: the gap a concurrent subscriber lands in, made
            // certain. The subscription then opens on another thread; the publish, going straight on, nearly always
            // reaches the broker first, and one lost message of the few is enough.
            for (var i = 0; i < 5; i++)
            {
                var topic = $"t{i}";
                await bus.PublishAsync(topic, new SubscribingPayload(() => subscriptions.Add(bus.Subscribe(topic, (_, _) => ValueTask.CompletedTask))))
                    .AsTask().WaitAsync(Buses.Patience);
            }
            Assert.Equal(5, subscriptions.Count);

            await bus.WaitForIdleAsync().WaitAsync(Buses.Patience);
        }
        finally
        {
            foreach (var subscription in subscriptions) subscription.Dispose();
        }
    }

    /// <summary>A payload whose serialisation runs <paramref name="during"/> on the publishing thread.</summary>
    private sealed class SubscribingPayload(Action during)
    {
        public int Value
        {
            get
            {
                during();
                return 1;
            }
        }
    }
}
