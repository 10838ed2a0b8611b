namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// Each durable topic's stream is named after the prefix (<c>{PREFIX}_{TOPIC}</c>), and the broker takes a stream name
/// of at most 255 bytes of UTF-8 (README, Beyond one machine: the prefix must be "short enough that its streams' names
/// fit the broker's 255 bytes"). A name of exactly 255 bytes fits; the count is in bytes, not characters.
/// </summary>
public sealed class PrefixStreamNameLengthTests
{
    // federation.dense_update makes the longest stream name of the default topics: {prefix}_FEDERATION_DENSE_UPDATE.
    private const int DenseSuffixBytes = 24;

    [Fact]
    public void A_prefix_whose_longest_stream_name_is_exactly_255_bytes_is_taken()
    {
        var prefix = new string('p', NatsSubjects.MaxStreamNameBytes - DenseSuffixBytes);
        Assert.Equal(255, System.Text.Encoding.UTF8.GetByteCount(NatsSubjects.StreamName(prefix, "federation.dense_update")));

        new NatsBusOptions { SubjectPrefix = prefix }.Validated();
    }

    [Fact]
    public void A_prefix_one_byte_longer_is_refused_naming_the_prefix_and_the_topic()
    {
        var prefix = new string('p', NatsSubjects.MaxStreamNameBytes - DenseSuffixBytes + 1);

        var error = Assert.Throws<InvalidInputException>(() => new NatsBusOptions { SubjectPrefix = prefix }.Validated());
        Assert.Equal("subject_prefix: a prefix of 232 bytes is too long: topic federation.dense_update's stream name would be 256 bytes, the broker takes at most 255", error.Message);
    }

    [Fact]
    public void A_prefix_of_few_characters_but_too_many_bytes_is_refused()
    {
        // 116 'é' are 116 characters (140 with the topic) but 232 bytes of UTF-8 (256 with the topic).
        var prefix = new string('é', 116);

        var error = Assert.Throws<InvalidInputException>(() => new NatsBusOptions { SubjectPrefix = prefix }.Validated());
        Assert.Contains("stream name would be 256 bytes", error.Message, StringComparison.Ordinal);
    }
}
