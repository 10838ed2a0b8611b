using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// A configuration a reader accepts must come back from its own JSON: the CLI and the storage write it with
/// ToJson, and an infinite setting (accepted as "inf", e.g. validator.max_score_delta to turn the score_delta rule
/// off) made the writing throw.
/// </summary>
public sealed class ConfigJsonRoundTripTests
{
    /// <summary>Every numeric leaf of the default document, as (section, key).</summary>
    private static IEnumerable<(string Section, string Key)> NumericLeaves(JsonObject document) =>
        from section in document
        where section.Value is JsonObject
        from leaf in section.Value!.AsObject()
        where leaf.Value is JsonValue value && value.TryGetValue<double>(out _)
        select (section.Key, leaf.Key);

    private static JsonObject Setting(string section, string key, string value) =>
        new() { [section] = new JsonObject { [key] = value } };

    [Fact]
    public void Every_learning_setting_accepted_as_infinite_is_written_and_read_back()
    {
        var accepted = new List<string>();
        foreach (var (section, key) in NumericLeaves(MetaLearningConfig.Default.ToJson()))
        foreach (var infinity in new[] { "inf", "-inf" })
        {
            MetaLearningConfig config;
            try
            {
                config = MetaLearningConfig.FromJson(Setting(section, key, infinity));
            }
            catch (InvalidInputException)
            {
                continue;
            }
            accepted.Add($"{section}.{key}={infinity}");
            var text = config.ToJson().ToJsonString();
            Assert.Equal(config, MetaLearningConfig.FromJson(text));
        }
        // The case that failed: the score_delta rule turned off.
        Assert.Contains("validator.max_score_delta=inf", accepted);
    }

    [Fact]
    public void Every_governance_setting_accepted_as_infinite_is_written_and_read_back()
    {
        foreach (var (section, key) in NumericLeaves(IntegrativeMetaConfig.Default.ToJson()))
        foreach (var infinity in new[] { "inf", "-inf" })
        {
            IntegrativeMetaConfig config;
            try
            {
                config = IntegrativeMetaConfig.FromJson(Setting(section, key, infinity));
            }
            catch (InvalidInputException)
            {
                continue;
            }
            var text = config.ToJson().ToJsonString();
            Assert.Equal(config.ToJson().ToJsonString(), IntegrativeMetaConfig.FromJson(JsonNode.Parse(text)!.AsObject()).ToJson().ToJsonString());
        }
    }
}
