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
    };

    [Theory]
    [MemberData(nameof(TimerBreakers))]
    public void A_wait_no_timer_can_keep_is_refused_naming_its_field(string field, TimeSpan value)
    {
        var options = field == "ack_wait" ? new NatsBusOptions { AckWait = value } : new NatsBusOptions { FetchStallTimeout = value };
        var error = Assert.Throws<InvalidInputException>(() => options.Validated());
        Assert.StartsWith($"{field}: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaults_and_the_bounds_themselves_are_taken()
    {
        new NatsBusOptions().Validated();
        new NatsBusOptions { FetchStallTimeout = NatsBusOptions.MinFetchStallTimeout, AckWait = NatsBusOptions.MinAckWait }.Validated();
        new NatsBusOptions { FetchStallTimeout = Runtime.DrainTimeout.LongestTimed, AckWait = Runtime.DrainTimeout.LongestTimed }.Validated();
    }
}
