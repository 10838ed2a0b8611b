using Meta.Gpu.Nats;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// The bus options' refusals show a number as the invariant culture writes it (the waits already did): the bus runs
/// inside the user's own program, under its culture, where "-1" came out as "−1" (U+2212, sv-SE or fa-IR), a form
/// no configuration reader takes. The tests run in globalization-invariant mode, so the culture is the invariant one
/// with sv-SE's minus and a decimal comma (<see cref="ForeignCulture"/>).
/// </summary>
public sealed class NatsBusOptionsCultureTests
{
    [Theory]
    [InlineData("queue_capacity", "queue_capacity: -1 must be at least 1")]
    [InlineData("pending_capacity", "pending_capacity: -1 must be at least 1")]
    [InlineData("publish_window", "publish_window: -1 must be at least 1")]
    [InlineData("consume_batch", "consume_batch: -1 must be at least 1")]
    [InlineData("dense_consume_batch", "dense_consume_batch: -1 must be at least 1")]
    [InlineData("inline_limit_bytes", "inline_limit_bytes: -1 must be at least 1024")]
    [InlineData("ack_wait", "ack_wait: -0.5 s must be at least 0.1 s and at most 2147484 s (about 24.8 days)")]
    public void A_count_out_of_range_is_shown_invariantly(string field, string expected)
    {
        var options = field switch
        {
            "queue_capacity" => new NatsBusOptions { QueueCapacity = -1 },
            "pending_capacity" => new NatsBusOptions { PendingCapacity = -1 },
            "publish_window" => new NatsBusOptions { PublishWindow = -1 },
            "consume_batch" => new NatsBusOptions { ConsumeBatch = -1 },
            "dense_consume_batch" => new NatsBusOptions { DenseConsumeBatch = -1 },
            "inline_limit_bytes" => new NatsBusOptions { InlineLimitBytes = -1 },
            _ => new NatsBusOptions { AckWait = TimeSpan.FromSeconds(-0.5) },
        };
        var message = ForeignCulture.MessageOf(() => options.Validated());

        Assert.Equal(expected, message);
    }
}
