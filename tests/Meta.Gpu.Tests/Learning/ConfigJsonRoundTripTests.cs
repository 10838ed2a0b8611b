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

    /// <summary>Each numeric setting of <paramref name="defaults"/> set to "inf" and to "-inf" in turn, with the
    /// configuration <paramref name="read"/> makes of it; the ones it refuses are left out.</summary>
    private static IEnumerable<(string Setting, T Config)> AcceptedInfinities<T>(JsonObject defaults, Func<JsonObject, T> read)
    {
        foreach (var (section, key) in NumericLeaves(defaults))
        foreach (var infinity in new[] { "inf", "-inf" })
        {
            T config;
            try
            {
                config = read(Setting(section, key, infinity));
            }
            catch (InvalidInputException)
            {
                continue;
            }
            yield return ($"{section}.{key}={infinity}", config);
        }
    }

    [Fact]
    public void Every_learning_setting_accepted_as_infinite_is_written_and_read_back()
    {
        var accepted = new List<string>();
        foreach (var (setting, config) in AcceptedInfinities(MetaLearningConfig.Default.ToJson(), MetaLearningConfig.FromJson))
        {
            accepted.Add(setting);
            var text = config.ToJson().ToJsonString();
            Assert.Equal(config, MetaLearningConfig.FromJson(text));
        }
        // The case that failed: the score_delta rule turned off.
        Assert.Contains("validator.max_score_delta=inf", accepted);
    }

    [Fact]
    public void Every_governance_setting_accepted_as_infinite_is_written_and_read_back()
    {
        foreach (var (_, config) in AcceptedInfinities(IntegrativeMetaConfig.Default.ToJson(), IntegrativeMetaConfig.FromJson))
        {
            var text = config.ToJson().ToJsonString();
            Assert.Equal(text, IntegrativeMetaConfig.FromJson(JsonNode.Parse(text)!.AsObject()).ToJson().ToJsonString());
        }
    }
}
