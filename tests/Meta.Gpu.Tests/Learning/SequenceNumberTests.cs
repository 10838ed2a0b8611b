using System.Text.Json.Nodes;
using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>A sequence is read exactly whatever form an integer takes (SequenceNumber.Read, through
/// DenseUpdate.FromPayload); each failing case failed before its fix, the others pin what was already so.</summary>
public sealed class SequenceNumberTests
{
    private const string Topic = "federation.dense_update";

    private static JsonObject Payload(JsonNode? sequence) => new()
    {
        ["domain_id"] = "a",
        ["sequence"] = sequence,
        ["confidence"] = 0.8,
        ["metrics"] = new JsonObject { ["meta_score"] = 0.5 },
        ["vector"] = new JsonArray(1.0, 2.0),
    };

    [Fact]
    public void An_in_process_ulong_sequence_past_2_pow_53_is_read_exactly()
    {
        // A 64-bit time-based id held as a ulong: an integer, exact, below long.MaxValue / 2. It was refused as "not
        // written as an integer".
        const ulong sequence = (1UL << 60) + 1;
        var update = DenseUpdate.FromPayload(Payload(JsonValue.Create(sequence)), Topic);
        Assert.Equal((long)sequence, update.Sequence);
    }

    [Fact]
    public void An_in_process_decimal_sequence_past_2_pow_53_is_read_exactly()
    {
        const decimal sequence = 9_007_199_254_740_993m;
        var update = DenseUpdate.FromPayload(Payload(JsonValue.Create(sequence)), Topic);
        Assert.Equal(9_007_199_254_740_993L, update.Sequence);
    }

    [Fact]
    public void A_non_integer_token_that_rounds_onto_2_pow_53_is_not_taken_as_another_sequence()
    {
        // 2^53 + 1 written "9007199254740993.0" rounded to 2^53, which was not "> 2^53": taken silently as 2^53.
        var payload = (JsonObject)JsonNode.Parse("""{"domain_id":"a","sequence":9007199254740993.0,"confidence":0.8,"metrics":{"meta_score":0.5},"vector":[1,2]}""")!;
        try
        {
            var update = DenseUpdate.FromPayload(payload, Topic);
            Assert.Equal(9_007_199_254_740_993L, update.Sequence);
        }
        catch (InvalidInputException)
        {
            // refused: fine
        }
    }

    [Fact]
    public void An_integer_token_past_long_max_is_not_said_to_be_not_an_integer()
    {
        var payload = (JsonObject)JsonNode.Parse("""{"domain_id":"a","sequence":9223372036854775808,"confidence":0.8,"metrics":{"meta_score":0.5},"vector":[1,2]}""")!;
        var e = Assert.Throws<InvalidInputException>(() => DenseUpdate.FromPayload(payload, Topic));
        Assert.DoesNotContain("not written as an integer", e.Message);
    }

    [Theory]
    [InlineData("5", 5L)]
    [InlineData("5.0", 5L)]
    [InlineData("5e0", 5L)]
    [InlineData("1e3", 1000L)]
    [InlineData("-0", 0L)]
    [InlineData("-0.0", 0L)]
    [InlineData("9007199254740993", 9007199254740993L)]
    public void Parsed_sequences_as_before(string token, long expected)
    {
        var payload = (JsonObject)JsonNode.Parse("{\"domain_id\":\"a\",\"sequence\":" + token + ",\"confidence\":0.8,\"metrics\":{\"meta_score\":0.5},\"vector\":[1,2]}")!;
        Assert.Equal(expected, DenseUpdate.FromPayload(payload, Topic).Sequence);
    }

    [Fact]
    public void In_process_values_as_before()
    {
        Assert.Equal(5L, DenseUpdate.FromPayload(Payload(JsonValue.Create(5.0)), Topic).Sequence);
        Assert.Equal(0L, DenseUpdate.FromPayload(Payload(JsonValue.Create(-0.0)), Topic).Sequence);
        Assert.Equal(5L, DenseUpdate.FromPayload(Payload(JsonValue.Create(5m)), Topic).Sequence);
        Assert.Equal(5L, DenseUpdate.FromPayload(Payload(JsonValue.Create(5)), Topic).Sequence);
        Assert.Equal(5L, DenseUpdate.FromPayload(Payload(JsonValue.Create(5u)), Topic).Sequence);
        Assert.Throws<InvalidInputException>(() => DenseUpdate.FromPayload(Payload(JsonValue.Create("5")), Topic));
        Assert.Throws<InvalidInputException>(() => DenseUpdate.FromPayload(Payload(JsonValue.Create(-1L)), Topic));
        Assert.Throws<InvalidInputException>(() => DenseUpdate.FromPayload(Payload(JsonValue.Create(5.5)), Topic));
    }

    [Fact]
    public void The_largest_sequence_is_long_max_over_two_and_one_more_is_refused()
    {
        const long largest = long.MaxValue / 2;
        Assert.Equal(largest, DenseUpdate.FromPayload(Payload(JsonValue.Create(largest)), Topic).Sequence);
        var e = Assert.Throws<InvalidInputException>(() => DenseUpdate.FromPayload(Payload(JsonValue.Create(largest + 1)), Topic));
        Assert.Contains("above the largest sequence", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_in_process_double_is_read_below_2_pow_53_and_refused_from_2_pow_53_on()
    {
        // A double at 2^53 may be a rounded 2^53 + 1, so it is not an exact sequence; the one below is.
        const double exactLimit = 9_007_199_254_740_992; // 2^53
        Assert.Equal(9_007_199_254_740_991L, DenseUpdate.FromPayload(Payload(JsonValue.Create(exactLimit - 1)), Topic).Sequence);
        var e = Assert.Throws<InvalidInputException>(() => DenseUpdate.FromPayload(Payload(JsonValue.Create(exactLimit)), Topic));
        Assert.Contains("2^53", e.Message, StringComparison.Ordinal);
    }
}
