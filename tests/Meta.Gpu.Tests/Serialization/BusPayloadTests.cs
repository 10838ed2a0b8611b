using System.Text.Json;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Tests.Serialization;

/// <summary>
/// A payload published in process as a <see cref="JsonElement"/> (a caller's own, leniently parsed document) is
/// read as strictly as one that came over a broker.
/// </summary>
public sealed class BusPayloadTests
{
    [Fact]
    public void An_element_with_a_property_given_twice_is_refused_where_it_is_read_naming_the_property()
    {
        using var document = JsonDocument.Parse("""{"domain_id": "a", "domain_id": "b"}""");
        var e = Assert.Throws<JsonException>(() => BusPayload.AsObject(document.RootElement, "meta_policy_pack"));
        Assert.Contains("domain_id", e.Message);
    }

    [Fact]
    public void An_element_with_a_lone_surrogate_is_refused_where_it_is_read()
    {
        using var document = JsonDocument.Parse("""{"domain_id": "\ud800"}""");
        Assert.Throws<JsonException>(() => BusPayload.AsObject(document.RootElement, "meta_policy_pack"));
    }

    [Fact]
    public void An_element_reads_as_the_same_object()
    {
        using var document = JsonDocument.Parse("""{"domain_id": "a", "metrics": {"gain_p50": 0.5}}""");
        var node = BusPayload.AsObject(document.RootElement, "meta_policy_pack");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(document.RootElement.GetRawText()), node));
    }

    [Fact]
    public void A_null_payload_reads_as_an_empty_object_and_one_that_is_no_object_is_refused_naming_the_topic()
    {
        Assert.Empty(BusPayload.AsObject(null, "telemetry"));

        var array = Assert.Throws<InvalidInputException>(() => BusPayload.AsObject(new[] { 1.0, 2.0 }, "telemetry"));
        Assert.Equal("telemetry: expected a JSON object payload, got Array", array.Message);
        var text = Assert.Throws<InvalidInputException>(() => BusPayload.AsObject(JsonValue.Create("x"), "meta_rollback_active"));
        Assert.Equal("meta_rollback_active: expected a JSON object payload, got String", text.Message);
    }

    [Fact]
    public void A_payload_published_as_an_object_reads_in_the_wire_form()
    {
        var node = BusPayload.AsObject(new Sample("d\u00e4", 0.5, double.NaN), "meta_metrics");

        Assert.Equal("""{"domain_id":"dä","meta_score":0.5,"reward_ema":"nan"}""", node.ToJsonString(WireJson.Options));
        Assert.Equal(new Sample("d\u00e4", 0.5, double.NaN), BusPayload.As<Sample>(node));
        Assert.Throws<InvalidInputException>(() => BusPayload.As<Sample>(null));
    }

    private sealed record Sample(string DomainId, double MetaScore, double RewardEma);
}
