using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// The governance configuration's range errors show the refused number as it is written (<c>ConfigCheck.Show</c>
/// for decimals) whatever the culture of the application that embeds the library; its integer fields showed a
/// negative value with the culture's minus (U+2212 under sv-SE or fa-IR), which no JSON reader takes, and a reward
/// that overflowed showed as "∞" under de-DE where another process said "Infinity".
/// </summary>
public sealed class GovernanceCultureTests
{
    [Theory]
    [InlineData("""{"safety": {"cooldown_cycles": -1}}""", "safety.cooldown_cycles: must be >= 0, got -1")]
    [InlineData("""{"evaluator_policy": {"accept_low_windows": -1}}""", "evaluator_policy.accept_low_windows: must be >= 0, got -1")]
    [InlineData("""{"drg_policy": {"n_paths_max": -2}}""", "drg_policy.n_paths_max: must be >= 1, got -2")]
    [InlineData("""{"safety": {"max_history": 1e10}}""", "safety.max_history: 1e10 is out of the integer range [-2147483648, 2147483647]")]
    [InlineData("""{"drg_policy": {"n_paths_shrink": -1.5}}""", "drg_policy.n_paths_shrink: must be in [-1, 0), got -1.5")]
    public void A_configuration_range_error_shows_the_number_invariantly(string json, string expected)
    {
        var node = JsonNode.Parse(json)!.AsObject();

        Assert.Equal(expected, ForeignCulture.MessageOf(() => IntegrativeMetaConfig.FromJson(node)));
    }

    [Fact]
    public void A_profile_range_error_shows_the_number_invariantly()
    {
        var profile = new ResourceProfile { NPaths = -1 };

        Assert.Equal("profile.n_paths: must be >= 1, got -1", ForeignCulture.MessageOf(() => profile.Validate()));
    }

    [Fact]
    public void An_overflowing_reward_is_shown_invariantly()
    {
        var config = IntegrativeMetaConfig.FromJson(JsonNode.Parse("""{"meta_score": {"weights": {"accept": 2}}}""")!.AsObject());
        using var layer = new MetaIntegrativeLayer(config);

        var message = ForeignCulture.MessageOf(() => layer.Update(new TelemetrySnapshot { AcceptRate = 1e308, VramUtil = 0.1 }));

        Assert.Equal("telemetry: the reward of these readings is not finite (Infinity) under meta_score's weights and penalties", message);
    }
}
