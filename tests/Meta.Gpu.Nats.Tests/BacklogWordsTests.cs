namespace Meta.Gpu.Nats.Tests;

/// <summary>The drain's warning counts what it waited for in words: "1 delivery", "2 deliveries", "0 messages" (an
/// irregular plural is given, not made by adding an "s").</summary>
public sealed class BacklogWordsTests
{
    [Theory]
    [InlineData(0, "message", null, "0 messages")]
    [InlineData(1, "message", null, "1 message")]
    [InlineData(1, "delivery", "deliveries", "1 delivery")]
    [InlineData(2, "delivery", "deliveries", "2 deliveries")]
    [InlineData(3, "durable publish", "durable publishes", "3 durable publishes")]
    public void A_count_takes_the_singular_for_one_and_the_given_plural_otherwise(long count, string one, string? many, string expected)
    {
        Assert.Equal(expected, BacklogWords.Count(count, one, many));
    }
}
