namespace Meta.Gpu.Nats.Tests;

public sealed class NatsBusOptionsTests
{
    public static TheoryData<string, TimeSpan> TimerBreakers() => new()
    {
        // A fetch stall limit of a tick gave up every fetch before its first chunk: every large vector given back
        // for ever. A year (meaning "never") made the poll's delay throw, which stopped the topic's feed.
        { "fetch_stall_timeout", TimeSpan.FromTicks(1) },
        { "fetch_stall_timeout", TimeSpan.FromDays(365) },
        { "ack_wait", TimeSpan.FromDays(365) },
        // A second would take one late heartbeat for a broken consumer and delete it.
        { "consume_stall_timeout", TimeSpan.FromSeconds(1) },
        { "consume_stall_timeout", TimeSpan.FromDays(365) },
        // A year meaning "wait as long as it takes" passed as positive and threw ArgumentOutOfRangeException from
        // the first connect's or publish's timed cancellation.
        { "connect_timeout", TimeSpan.FromDays(365) },
        { "publish_timeout", TimeSpan.FromDays(365) },
        { "publish_ack_wait", TimeSpan.FromDays(365) },
    };

    [Theory]
    [MemberData(nameof(TimerBreakers))]
    public void A_wait_no_timer_can_keep_is_refused_naming_its_field(string field, TimeSpan value)
    {
        var options = field switch
        {
            "ack_wait" => new NatsBusOptions { AckWait = value },
            "fetch_stall_timeout" => new NatsBusOptions { FetchStallTimeout = value },
            "consume_stall_timeout" => new NatsBusOptions { ConsumeStallTimeout = value },
            "connect_timeout" => new NatsBusOptions { ConnectTimeout = value },
            "publish_timeout" => new NatsBusOptions { PublishTimeout = value },
            "publish_ack_wait" => new NatsBusOptions { PublishAckWait = value },
            _ => throw new ArgumentOutOfRangeException(nameof(field), field, "no such option"),
        };
        var error = Assert.Throws<InvalidInputException>(() => options.Validated());
        Assert.StartsWith($"{field}: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refused_wait_says_the_longest_a_timer_takes()
    {
        var error = Assert.Throws<InvalidInputException>(() => new NatsBusOptions { PublishTimeout = TimeSpan.FromDays(365) }.Validated());
        Assert.Equal("publish_timeout: 31536000 s must be positive and at most 2147484 s (about 24.8 days)", error.Message);
    }

    [Fact]
    public void The_defaults_and_the_bounds_themselves_are_taken()
    {
        new NatsBusOptions().Validated();
        new NatsBusOptions { FetchStallTimeout = NatsBusOptions.MinFetchStallTimeout, ConsumeStallTimeout = NatsBusOptions.MinConsumeStallTimeout, AckWait = NatsBusOptions.MinAckWait }.Validated();
        var longest = Runtime.DrainTimeout.LongestTimed;
        new NatsBusOptions { FetchStallTimeout = longest, ConsumeStallTimeout = longest, AckWait = longest, ConnectTimeout = longest, PublishTimeout = longest, PublishAckWait = longest }.Validated();
    }
}
