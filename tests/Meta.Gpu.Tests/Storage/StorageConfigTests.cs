using System.Text.Json.Nodes;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

public sealed class StorageConfigTests
{
    [Fact]
    public void Defaults_are_the_designs()
    {
        Assert.Equal(10, StorageConfig.Default.Retention);
        Assert.Equal("meta_storage", StorageConfig.Default.Root);
    }

    [Fact]
    public void Reads_its_json_section()
    {
        var config = StorageConfig.Default.With(JsonNode.Parse("""{"root": "/data/meta", "retention": 3}""")!.AsObject());
        Assert.Equal(new StorageConfig("/data/meta", 3), config);
        Assert.Equal(config, StorageConfig.Default.With(config.ToJson()));
        Assert.Equal(StorageConfig.Default, StorageConfig.Default.With(null));
    }

    [Theory]
    [InlineData("""{"root": "x", "retension": 3}""", "storage.retension")]
    [InlineData("""{"retention": -1}""", "storage.retention")]
    [InlineData("""{"retention": 2.5}""", "storage.retention")]
    [InlineData("""{"root": ""}""", "storage.root")]
    [InlineData("""{"root": 5}""", "storage.root")]
    public void Rejects_bad_sections_naming_the_field(string json, string field)
    {
        var error = Assert.Throws<InvalidInputException>(() => StorageConfig.Default.With(JsonNode.Parse(json)!.AsObject()));
        Assert.StartsWith(field, error.Message, StringComparison.Ordinal);
    }
}
