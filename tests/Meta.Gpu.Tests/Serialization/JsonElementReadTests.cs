using System.Text;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Tests.Serialization;

/// <summary>
/// <see cref="JsonElementRead"/> reads a <see cref="System.Text.Json.JsonDocument"/> as <see cref="JsonRead"/> reads a
/// JsonNode tree: the same values (a null field is a missing one) and the same refusals, word for word, so a command
/// answers a user alike whichever way it read its input.
/// </summary>
public sealed class JsonElementReadTests
{
    [Theory]
    [InlineData("""{"k": null}""")]
    [InlineData("""{}""")]
    public void A_null_field_reads_as_a_missing_one(string json)
    {
        var tree = JsonNode.Parse(json)!.AsObject();
        using var document = JsonInput.ParseDocument(Encoding.UTF8.GetBytes(json));
        var element = document.RootElement;

        Assert.False(JsonRead.Has(tree, "k"));
        Assert.False(JsonElementRead.Has(element, "k"));
        Assert.Null(JsonElementRead.Property(element, "k"));
        Assert.Equal("fallback", JsonRead.String(tree, "k", "fallback"));
        Assert.Equal("fallback", JsonElementRead.String(element, "k", "fallback"));
    }

    [Theory]
    [InlineData("", "zzz: unknown key in configuration (known: updates, config)")]
    [InlineData("input", "input.zzz: unknown key in input (known: updates, config)")]
    public void An_unknown_key_is_refused_with_the_same_message(string path, string message)
    {
        const string json = """{"updates": [], "zzz": 1, "yyy": 2}""";
        using var document = JsonInput.ParseDocument(Encoding.UTF8.GetBytes(json));

        var fromTree = Assert.Throws<InvalidInputException>(() => JsonRead.RequireKnownKeys(JsonNode.Parse(json)!.AsObject(), path, "updates", "config"));
        var fromDocument = Assert.Throws<InvalidInputException>(() => JsonElementRead.RequireKnownKeys(document.RootElement, path, "updates", "config"));

        Assert.Equal(message, fromTree.Message);
        Assert.Equal(message, fromDocument.Message);
    }
}
