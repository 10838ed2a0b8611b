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
        new NatsBusOptions { QueueCapacity = 1, PendingCapacity = 1, PublishWindow = 1, ConsumeBatch = 1, DenseConsumeBatch = 1, InlineLimitBytes = 1024 }.Validated();
    }

    [Theory]
    [InlineData("durable_name", "agent.1")]
    [InlineData("durable_name", "")]
    [InlineData("object_bucket", "dense bucket")]
    [InlineData("subject_prefix", "a b")]
    [InlineData("topic 'work.*'", "durable")]
    [InlineData("topic 'federation..dense'", "dense")]
    [InlineData("object_max_age", "0")]
    [InlineData("connect_timeout", "0")]
    [InlineData("publish_timeout", "0")]
    [InlineData("publish_ack_wait", "0")]
    [InlineData("queue_capacity", "0")]
    [InlineData("pending_capacity", "0")]
    [InlineData("publish_window", "0")]
    [InlineData("consume_batch", "0")]
    [InlineData("dense_consume_batch", "0")]
    [InlineData("inline_limit_bytes", "1023")]
    public void A_bad_name_or_a_count_just_below_its_least_is_refused_naming_its_field(string field, string value)
    {
        // Each was taken before (or under another field's name) and failed later at the broker, or never.
        var options = field switch
        {
            "durable_name" => new NatsBusOptions { DurableName = value },
            "object_bucket" => new NatsBusOptions { ObjectBucket = value },
            "subject_prefix" => new NatsBusOptions { SubjectPrefix = value },
            "topic 'work.*'" => new NatsBusOptions { DurableTopics = ["work.*"] },
            "topic 'federation..dense'" => new NatsBusOptions { DenseTopics = ["federation..dense"] },
            "object_max_age" => new NatsBusOptions { ObjectMaxAge = TimeSpan.Zero },
            "connect_timeout" => new NatsBusOptions { ConnectTimeout = TimeSpan.Zero },
            "publish_timeout" => new NatsBusOptions { PublishTimeout = TimeSpan.Zero },
            "publish_ack_wait" => new NatsBusOptions { PublishAckWait = TimeSpan.Zero },
            "queue_capacity" => new NatsBusOptions { QueueCapacity = 0 },
            "pending_capacity" => new NatsBusOptions { PendingCapacity = 0 },
            "publish_window" => new NatsBusOptions { PublishWindow = 0 },
            "consume_batch" => new NatsBusOptions { ConsumeBatch = 0 },
            "dense_consume_batch" => new NatsBusOptions { DenseConsumeBatch = 0 },
            "inline_limit_bytes" => new NatsBusOptions { InlineLimitBytes = 1023 },
            _ => throw new ArgumentOutOfRangeException(nameof(field), field, "no such option"),
        };
        var error = Assert.Throws<InvalidInputException>(() => options.Validated());
        Assert.StartsWith($"{field}: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_with_dashes_and_a_tls_address_are_taken()
    {
        // JetStream names take letters, digits, '-' and '_'; a broker address may be nats:// or tls://.
        new NatsBusOptions { DurableName = "agent-1", ObjectBucket = "dense-2", SubjectPrefix = "run-3", Url = "tls://broker.example:4222" }.Validated();
    }
}
