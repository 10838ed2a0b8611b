using System.Text.Json;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Tests.Serialization;

/// <summary>
/// The one set of JSON settings for everything that crosses a boundary: snake_case property names (DESIGN §2),
/// dictionary keys as they are (domain ids, knob names), null fields written, non-finite numbers as the strings
/// "nan", "inf", "-inf" (DESIGN §14), and text readable as it is (a reason "low_accept + latency_high", a domain id
/// that is not ASCII) rather than escaped for HTML.
/// </summary>
public sealed class WireJsonTests
{
    private sealed record Sample(double MetaScore, float Beta, double Worst, IReadOnlyDictionary<string, double> Knobs, string? Reason, string DomainId);

    private static readonly Sample Written = new(
        double.NaN, float.PositiveInfinity, double.NegativeInfinity,
        new SortedDictionary<string, double>(StringComparer.Ordinal) { ["DomainA"] = 0.5, ["g_min"] = 0.01 },
        null, "dom\u00e4ne low_accept + latency_high <1>");

    private const string Wire =
        """{"meta_score":"nan","beta":"inf","worst":"-inf","knobs":{"DomainA":0.5,"g_min":0.01},"reason":null,"domain_id":"domäne low_accept + latency_high <1>"}""";

    [Fact]
    public void A_record_is_written_in_the_wire_form()
    {
        Assert.Equal(Wire, WireJson.Serialize(Written));
    }

    [Fact]
    public void The_wire_form_reads_back_to_the_same_values()
    {
        var read = JsonSerializer.Deserialize<Sample>(Wire, WireJson.Options)!;

        Assert.True(double.IsNaN(read.MetaScore));
        Assert.Equal(float.PositiveInfinity, read.Beta);
        Assert.Equal(double.NegativeInfinity, read.Worst);
        Assert.Equal(Written.Knobs, read.Knobs);
        Assert.Null(read.Reason);
        Assert.Equal(Written.DomainId, read.DomainId);
    }

    [Theory]
    [InlineData("""{"meta_score": "abc"}""")]
    [InlineData("""{"beta": "fast"}""")]
    public void A_number_field_holding_another_string_is_refused(string json)
    {
        var e = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Sample>(json, WireJson.Options));
        Assert.Contains("expected a number", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    // The forms .NET's named literals write (JsonNumberHandling.AllowNamedFloatingPointLiterals, which JsonRead.Show
    // itself uses inside arrays), in any case and with surrounding spaces.
    [InlineData("nan", double.NaN)]
    [InlineData("NaN", double.NaN)]
    [InlineData("-nan", double.NaN)]
    [InlineData("inf", double.PositiveInfinity)]
    [InlineData("+inf", double.PositiveInfinity)]
    [InlineData("Infinity", double.PositiveInfinity)]
    [InlineData(" INF ", double.PositiveInfinity)]
    [InlineData("-inf", double.NegativeInfinity)]
    [InlineData("-Infinity", double.NegativeInfinity)]
    public void The_non_finite_names_are_read_in_every_spelling(string text, double expected)
    {
        Assert.Equal(expected, WireJson.ParseNonFinite(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("in f")]
    [InlineData("1e999")]
    [InlineData("none")]
    public void Other_text_is_no_non_finite_name(string text)
    {
        Assert.Null(WireJson.ParseNonFinite(text));
    }
}
