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
}
