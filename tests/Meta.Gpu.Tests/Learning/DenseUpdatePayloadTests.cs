using System.Text.Json.Nodes;
using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>The dense update as a broker that decodes the binary vector delivers it: a JsonValue wrapping the float[].</summary>
public sealed class DenseUpdatePayloadTests
{
    [Fact]
    public void A_vector_delivered_as_a_wrapped_float_array_is_read_as_is()
    {
        float[] vector = [1.5f, -2.25f, 3.1415927f];
        var payload = new JsonObject
        {
            ["confidence"] = 0.75,
            ["domain_id"] = "domain-001",
            ["metrics"] = new JsonObject { ["gain_p50"] = 0.4 },
            ["sequence"] = 12,
            ["vector"] = JsonValue.Create(vector),
        };

        var update = DenseUpdate.FromPayload(payload, "federation.dense_update");

        Assert.Equal("domain-001", update.DomainId);
        Assert.Equal(12, update.Sequence);
        Assert.Equal(0.75, update.Confidence);
        Assert.Equal(0.4, update.Metrics.GainP50);
        Assert.Equal(vector, update.Vector);
    }

    [Fact]
    public void A_vector_of_another_kind_is_refused_naming_the_field()
    {
        var payload = new JsonObject
        {
            ["confidence"] = 0.75,
            ["domain_id"] = "domain-001",
            ["sequence"] = 1,
            ["vector"] = JsonValue.Create(true),
        };
        var error = Assert.Throws<InvalidInputException>(() => DenseUpdate.FromPayload(payload, "federation.dense_update"));
        Assert.Contains("federation.dense_update.vector", error.Message, StringComparison.Ordinal);
    }
}
