using System.Text.Json.Nodes;
using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

public sealed class TelemetrySnapshotTests
{
    private static TelemetrySnapshot Parse(string json) => TelemetrySnapshot.FromJson(JsonNode.Parse(json)!.AsObject());

    [Fact]
    public void Missing_and_null_fields_take_their_defaults()
    {
        var empty = Parse("{}");
        var nulls = Parse("""{"accept_rate": null, "ci_width_target": null, "resamples_default": null, "oom_flag": null}""");

        Assert.Equal(TelemetrySnapshot.Default, empty);
        Assert.Equal(TelemetrySnapshot.Default, nulls);
        Assert.Equal(0.1, empty.CiWidthTarget);
        Assert.Equal(10, empty.ResamplesDefault);
        Assert.Null(empty.GainPrev);
    }

    [Fact]
    public void Gain_prev_defaults_to_gain_p50()
    {
        Assert.Equal(0.4, Parse("""{"gain_p50": 0.4}""").EffectiveGainPrev);
        Assert.Equal(0.2, Parse("""{"gain_p50": 0.4, "gain_prev": 0.2}""").EffectiveGainPrev);
    }

    [Fact]
    public void Stability_mean_is_an_alias_and_stability_avg_wins()
    {
        Assert.Equal(0.7, Parse("""{"stability_mean": 0.7}""").StabilityAvg);
        Assert.Equal(0.6, Parse("""{"stability_avg": 0.6, "stability_mean": 0.7}""").StabilityAvg);
    }

    [Theory]
    [InlineData("""{"vram_high": true}""", 1.0)]
    [InlineData("""{"vram_high": false}""", 0.0)]
    [InlineData("""{"vram_high": 1.0}""", 1.0)]
    [InlineData("""{"vram_high": true, "vram_util": 0.4}""", 0.4)]
    [InlineData("""{"vram_util": null, "vram_high": true}""", 1.0)]
    public void Vram_util_comes_from_vram_high_when_absent(string json, double expected)
    {
        Assert.Equal(expected, Parse(json).VramUtil);
    }

    [Fact]
    public void Booleans_may_arrive_as_numbers_and_numbers_as_non_finite_strings()
    {
        Assert.True(Parse("""{"oom_flag": 1.0}""").OomFlag);
        Assert.False(Parse("""{"oom_flag": 0}""").OomFlag);
        Assert.True(double.IsNaN(Parse("""{"latency_ms": "nan"}""").LatencyMs));
        Assert.Equal(double.PositiveInfinity, Parse("""{"latency_ms": "inf"}""").LatencyMs);
    }

    [Theory]
    [InlineData("""{"accept_rate": "high"}""", "accept_rate")]
    [InlineData("""{"oom_flag": "yes"}""", "oom_flag")]
    [InlineData("""{"accept_low_windows": 1.5}""", "accept_low_windows")]
    public void A_field_of_the_wrong_type_is_named(string json, string field)
    {
        var error = Assert.Throws<InvalidInputException>(() => Parse(json));

        Assert.StartsWith(field + ":", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_fields_are_ignored()
    {
        Assert.Equal(0.2, Parse("""{"accept_rate": 0.2, "diversity_index": 0.9, "engine": "x"}""").AcceptRate);
    }
}
