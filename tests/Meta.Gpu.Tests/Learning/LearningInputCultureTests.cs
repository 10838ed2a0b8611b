using System.Text.Json.Nodes;
using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// Refused inputs of the learning path (bus payloads, optimizer updates, restored learner state) show the refused
/// number as the invariant culture writes it, whatever the culture of the application that embeds the library: a
/// sequence of 1.5 was "got 1,5" under de-DE, a negative one "−1,5" (U+2212) under sv-SE or fa-IR, and an infinite
/// reward "∞" where the same call in another process said "Infinity".
/// </summary>
public sealed class LearningInputCultureTests
{
    private static JsonObject DenseUpdatePayload(JsonNode? sequence) => new()
    {
        ["domain_id"] = "a",
        ["sequence"] = sequence,
        ["confidence"] = 0.8,
        ["metrics"] = new JsonObject { ["meta_score"] = 0.5 },
        ["vector"] = new JsonArray(1.0, 2.0),
    };

    [Theory]
    [InlineData(1.5, "federation.dense_update.sequence: expected a whole number >= 0, got 1.5 (domain \"a\")")]
    [InlineData(-1.5, "federation.dense_update.sequence: expected a whole number >= 0, got -1.5 (domain \"a\")")]
    public void A_refused_sequence_is_shown_invariantly(double sequence, string expected)
    {
        var payload = DenseUpdatePayload(sequence);

        Assert.Equal(expected, ForeignCulture.MessageOf(() => DenseUpdate.FromPayload(payload, "federation.dense_update")));
    }

    [Fact]
    public void A_refused_negative_decimal_sequence_is_shown_invariantly()
    {
        var payload = DenseUpdatePayload(JsonValue.Create(-2m));

        Assert.Equal("federation.dense_update.sequence: expected a whole number >= 0, got -2 (domain \"a\")",
            ForeignCulture.MessageOf(() => DenseUpdate.FromPayload(payload, "federation.dense_update")));
    }

    [Theory]
    [InlineData("initial prior", "initial prior: value of \"tau\" is not finite (-Infinity)")]
    [InlineData("update value", "optimizer update: value of \"tau\" is not finite (-Infinity)")]
    [InlineData("update reward", "optimizer update: reward is not finite (-Infinity)")]
    [InlineData("state", "optimizer state: reward_ema is not finite (-Infinity)")]
    [InlineData("dense update", "dense optimizer update: aggregate value 1 is not finite (-Infinity)")]
    [InlineData("dense reward", "dense optimizer update: reward is not finite (-Infinity)")]
    [InlineData("dense state", "dense optimizer state: beta is not finite (-Infinity)")]
    public void An_optimizer_refusal_shows_the_value_invariantly(string what, string expected)
    {
        Action call = what switch
        {
            "initial prior" => () => _ = new OnlineReptileOptimizer(null, new Dictionary<string, double> { ["tau"] = double.NegativeInfinity }),
            "update value" => () => new OnlineReptileOptimizer().Apply([float.NegativeInfinity], ["tau"], 0.5),
            "update reward" => () => new OnlineReptileOptimizer().Apply([1f], ["tau"], double.NegativeInfinity),
            "state" => () => new OnlineReptileOptimizer().RestoreState(0.1, double.NegativeInfinity),
            "dense update" => () => new DenseReptileOptimizer(2).Apply([1f, float.NegativeInfinity], 0.5, default),
            "dense reward" => () => new DenseReptileOptimizer(2).Apply([1f, 2f], double.NegativeInfinity, default),
            _ => () => new DenseReptileOptimizer(2).RestoreState(double.NegativeInfinity, 0.5),
        };

        Assert.Equal(expected, ForeignCulture.MessageOf(call));
    }

    [Theory]
    [InlineData("confidence", "learner state of \"a\": confidence must be in [0, 1], got 1.5")]
    [InlineData("observations", "learner state of \"a\": observations must be >= 0, got -1")]
    [InlineData("last_score", "learner state of \"a\": last_score: must be finite, got -Infinity")]
    public void A_refused_learner_state_shows_the_number_invariantly(string what, string expected)
    {
        var good = new SavedDomainLearner(0.5, 0.5, 0.2, [0.1], new Dictionary<string, double> { ["tau"] = 1.0 }, 1, null);
        var bad = what switch
        {
            "confidence" => good with { Confidence = 1.5 },
            "observations" => good with { Observations = -1 },
            _ => good with { LastScore = double.NegativeInfinity },
        };

        Assert.Equal(expected, ForeignCulture.MessageOf(() => new DomainMetaLearner().Restore(new Dictionary<string, SavedDomainLearner> { ["a"] = bad })));
    }

    [Fact]
    public void A_refused_reward_is_shown_invariantly()
    {
        var payload = new JsonObject { ["meta_score"] = "-inf" };

        Assert.Equal("meta_metrics.meta_score: the reward must be finite, got -Infinity",
            ForeignCulture.MessageOf(() => LearningRoundInput.FromProcessingMetrics(payload, 80, "meta_metrics")));
    }
}
