using System.Text;
using System.Text.Json;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Tests.Serialization;

/// <summary>Outside JSON is refused at parse time for what the parser would otherwise let through and throw on
/// later, when a value is read.</summary>
public sealed class JsonInputTests
{
    [Theory]
    [InlineData("{\"\\ud800\": 1}", "property name")]
    [InlineData("{\"k\": \"a\\udc00b\"}", "string")]
    [InlineData("[\"\\ud800\\ud800\"]", "string")]
    public void An_escape_that_is_no_text_is_a_JsonException_naming_where(string json, string what)
    {
        var error = Assert.Throws<JsonException>(() => JsonInput.Parse(json));
        Assert.Contains($"the {what} at byte", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bytes_that_are_not_UTF8_inside_a_string_are_a_JsonException()
    {
        byte[] json = [.. "{\"k\": \""u8, 0xC3, 0x28, .. "\"}"u8];
        var error = Assert.Throws<JsonException>(() => JsonInput.Parse(json));
        Assert.Contains("not UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Valid_escapes_and_text_parse_as_before()
    {
        var node = JsonInput.Parse(Encoding.UTF8.GetBytes("{\"\\ud83d\\ude00\": \"caf\\u00e9 \u00fc\", \"k\": [\"\\n\"]}"))!.AsObject();
        Assert.Equal("caf\u00e9 \u00fc", node["\U0001F600"]!.GetValue<string>());
        Assert.Equal("\n", node["k"]![0]!.GetValue<string>());
    }

    [Fact]
    public void A_property_given_twice_is_still_a_JsonException()
    {
        Assert.Throws<JsonException>(() => JsonInput.Parse("{\"a\": 1, \"a\": 2}"));
    }

    [Theory]
    [InlineData("{\"a\": 1, \"a\": 2}", 0, 9)]
    [InlineData("{\"a\": 1,\n  \"b\": {\"c\": 1},\n  \"a\": 2}", 2, 2)]
    [InlineData("{\"a\": {\"c\": 1},\r\n \"b\": [{\"c\": 1, \"d\": 2, \"c\": 3}]}", 1, 24)]
    // Names compare unescaped, as the parser compares them.
    [InlineData("{\"b\": 1,\n\"\\u0062\": 2}", 1, 0)]
    public void A_property_given_twice_is_placed_at_the_second_as_a_syntax_error_is(string json, long line, long position)
    {
        var parsed = Assert.Throws<JsonException>(() => JsonInput.Parse(json));
        var document = Assert.Throws<JsonException>(() => JsonInput.ParseDocument(Encoding.UTF8.GetBytes(json)));

        // Counted from 0 as the parser counts a syntax error's place; Describe says it from 1, as editors do.
        Assert.All(new[] { parsed, document }, e => Assert.Equal((line, position), (e.LineNumber, e.BytePositionInLine)));
        Assert.StartsWith($"malformed JSON at line {line + 1}, column {position + 1} (", JsonInput.Describe(parsed), StringComparison.Ordinal);
    }

    [Fact]
    public void A_name_in_other_objects_or_of_another_case_is_no_repeat()
    {
        var node = JsonInput.Parse("{\"a\": {\"c\": 1}, \"b\": [{\"c\": 1}, {\"c\": 2}], \"A\": {\"a\": 3}}")!.AsObject();
        Assert.Equal(3, node["A"]!["a"]!.GetValue<int>());
    }
}
