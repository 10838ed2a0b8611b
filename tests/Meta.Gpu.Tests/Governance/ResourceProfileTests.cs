using System.Text.Json.Nodes;
using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

public sealed class ResourceProfileTests
{
    private static readonly KnobVector Initial = KnobVector.Initial;

    [Theory]
    [InlineData(100, 0.1, 110)]
    [InlineData(5, 0.1, 6)] // trunc(5.5) = 5 would freeze it: a grow moves at least one path (D4)
    [InlineData(1, 0.1, 2)]
    [InlineData(128, 0.1, 128)] // clamped to n_paths_max
    [InlineData(100, -0.15, 85)]
    [InlineData(5, -0.15, 4)]
    [InlineData(3, -0.15, 2)] // trunc(2.55) = 2
    [InlineData(1, -0.15, 1)] // never below one path
    public void N_paths_moves_by_the_delta_and_at_least_one_path(int n, double delta, int expected)
    {
        var hint = delta > 0 ? ResourceHint.Grow(delta, 12) : ResourceHint.Shrink(delta, 512);

        var after = (ResourceProfile.Initial with { NPaths = n }).After(hint, Initial, nPathsMax: 128);

        Assert.Equal(expected, after.NPaths);
    }

    [Fact]
    public void A_shrink_sets_sketch_dim_and_a_grow_sets_resamples()
    {
        var start = ResourceProfile.Initial with { NPaths = 100, SketchDim = 1024 };

        var shrunk = start.After(ResourceHint.Shrink(-0.15, 256), Initial, 128);
        var grown = start.After(ResourceHint.Grow(0.1, 0), Initial, 128);

        Assert.Equal((256, 8), (shrunk.SketchDim, shrunk.Resamples));
        Assert.Equal((1024, 1), (grown.SketchDim, grown.Resamples)); // resamples at least 1
    }

    [Fact]
    public void No_hint_keeps_the_profile_but_the_tiers_follow_the_knobs_D5()
    {
        var knobs = KnobVector.Initial;
        knobs[Knob.Tier2Enabled] = 0;
        knobs[Knob.Tier3TopK] = 0;

        var after = ResourceProfile.Initial.After(ResourceHint.None, knobs, 128);

        Assert.Equal(ResourceProfile.Initial with { Tier2Enabled = false, Tier3TopK = 0 }, after);
        Assert.Equal(ResourceProfile.Initial, ResourceProfile.Initial.After(ResourceHint.None, KnobVector.Initial, 128));
    }

    [Fact]
    public void Json_reads_partial_profiles_and_rejects_unknown_keys_and_bad_values()
    {
        var profile = ResourceProfile.FromJson(JsonNode.Parse("""{"n_paths": 64, "precision": "fp32"}""")!.AsObject());

        Assert.Equal(ResourceProfile.Initial with { NPaths = 64, Precision = "fp32" }, profile);
        Assert.Equal(profile, ResourceProfile.FromJson(profile.ToJson()));
        Assert.StartsWith("profile.npaths: unknown key",
            Assert.Throws<InvalidInputException>(() => ResourceProfile.FromJson(JsonNode.Parse("""{"npaths": 1}""")!.AsObject())).Message, StringComparison.Ordinal);
        Assert.StartsWith("profile.resamples:",
            Assert.Throws<InvalidInputException>(() => ResourceProfile.FromJson(JsonNode.Parse("""{"resamples": 0}""")!.AsObject())).Message, StringComparison.Ordinal);
    }

    /// <summary>An initial profile is a setting: a boolean or a numeric string is refused by name, as every other
    /// setting's is (the wire payloads' reader took true as 1 and "1024" as 1024).</summary>
    [Theory]
    [InlineData("""{"n_paths": true}""", "profile.n_paths")]
    [InlineData("""{"sketch_dim": "1024"}""", "profile.sketch_dim")]
    [InlineData("""{"tier3_topk": false}""", "profile.tier3_topk")]
    public void A_profile_setting_that_is_not_a_number_is_refused_by_name(string json, string field) =>
        Assert.StartsWith(field + ":",
            Assert.Throws<InvalidInputException>(() => ResourceProfile.FromJson(JsonNode.Parse(json)!.AsObject())).Message, StringComparison.Ordinal);
}
