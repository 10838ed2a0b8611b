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
}
