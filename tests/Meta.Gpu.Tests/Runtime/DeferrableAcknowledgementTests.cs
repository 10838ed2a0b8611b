using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Runtime;

/// <summary><see cref="IDeliveryAcknowledgement.AcknowledgeAsync"/> "Tells the broker the message's effect is saved.
/// Idempotent.": the bus acknowledges when a handler returns unless it deferred, and the deferring holder may
/// acknowledge again on a later save; the broker hears of each message once, also from calls at the same moment.</summary>
public sealed class DeferrableAcknowledgementTests
{
    [Fact]
    public async Task Acknowledging_again_or_at_once_from_many_threads_tells_the_broker_once()
    {
        var told = 0;
        var acknowledgement = new DeferrableAcknowledgement(() => { Interlocked.Increment(ref told); return ValueTask.CompletedTask; });

        await acknowledgement.AcknowledgeAsync();
        await acknowledgement.AcknowledgeAsync();
        Assert.Equal(1, told);

        var racing = new DeferrableAcknowledgement(() => { Interlocked.Increment(ref told); return ValueTask.CompletedTask; });
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => racing.AcknowledgeAsync().AsTask())));
        Assert.Equal(2, told);
    }
}
