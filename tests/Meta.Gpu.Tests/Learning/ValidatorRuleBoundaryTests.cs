using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// Each of the validator's rules exactly at and just beyond its bound, at the defaults and at the ends of the
/// settings' ranges. DESIGN §12: "Config `validator`: min_confidence 0.1, max_keys 32, max_score_delta 1.0.
/// `Validate` returns every rule the update breaks, in this order, by name: `confidence` (non-finite, outside [0,1]
/// or below min_confidence; equal passes), `too_many_keys`, `length_mismatch` (keys and vector), `duplicate_keys`,
/// `score_delta` (non-finite or |score_delta| &gt; max_score_delta), `non_finite` (a vector value). `ValidateUpdate`
/// = no rule broken." Keys are told apart ordinally (the learner sorts parameter names ordinally, §7).
/// </summary>
public sealed class ValidatorRuleBoundaryTests
{
    private static readonly MetaPacketValidator Defaults = new();

    private static DomainMetaUpdate Update(double confidence = 0.5, double scoreDelta = 0.1, string[]? keys = null, float[]? vector = null)
    {
        keys ??= ["a", "b"];
        return new DomainMetaUpdate("d", keys, vector ?? new float[keys.Length], Reward: 0.5, confidence, DateTimeOffset.UnixEpoch, scoreDelta);
    }

    private static string[] Keys(int count) => [.. Enumerable.Range(0, count).Select(i => $"k{i:D3}")];

    private static IReadOnlyList<string> Reasons(MetaPacketValidator validator, DomainMetaUpdate update)
    {
        var reasons = validator.Validate(update);
        Assert.Equal(reasons.Count == 0, validator.ValidateUpdate(update));
        return reasons;
    }

    // confidence: "outside [0,1] or below min_confidence; equal passes"

    [Fact]
    public void Confidence_equal_to_min_confidence_passes_and_the_next_double_below_is_refused()
    {
        Assert.Empty(Reasons(Defaults, Update(confidence: 0.1)));
        Assert.Equal(["confidence"], Reasons(Defaults, Update(confidence: Math.BitDecrement(0.1))));
    }

    [Fact]
    public void Confidence_one_passes_and_the_next_double_above_is_refused()
    {
        Assert.Empty(Reasons(Defaults, Update(confidence: 1.0)));
        Assert.Equal(["confidence"], Reasons(Defaults, Update(confidence: Math.BitIncrement(1.0))));
    }

    [Fact]
    public void At_min_confidence_zero_zero_passes_and_the_smallest_negative_is_refused_as_outside_zero_one()
    {
        var validator = new MetaPacketValidator(new ValidatorConfig(MinConfidence: 0.0));
        Assert.Empty(Reasons(validator, Update(confidence: 0.0)));
        Assert.Empty(Reasons(validator, Update(confidence: -0.0)));
        Assert.Equal(["confidence"], Reasons(validator, Update(confidence: -double.Epsilon)));
        Assert.Equal(["confidence"], Reasons(validator, Update(confidence: Math.BitIncrement(1.0))));
    }

    [Fact]
    public void At_min_confidence_one_only_exactly_one_passes()
    {
        var validator = new MetaPacketValidator(new ValidatorConfig(MinConfidence: 1.0));
        Assert.Empty(Reasons(validator, Update(confidence: 1.0)));
        Assert.Equal(["confidence"], Reasons(validator, Update(confidence: Math.BitDecrement(1.0))));
        Assert.Equal(["confidence"], Reasons(validator, Update(confidence: Math.BitIncrement(1.0))));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void A_non_finite_confidence_is_refused_even_at_min_confidence_zero(double confidence)
    {
        var validator = new MetaPacketValidator(new ValidatorConfig(MinConfidence: 0.0));
        Assert.Equal(["confidence"], Reasons(validator, Update(confidence: confidence)));
    }

    // too_many_keys: max_keys is the most keys an update may carry

    [Fact]
    public void Max_keys_keys_pass_and_one_more_is_refused()
    {
        Assert.Empty(Reasons(Defaults, Update(keys: Keys(32))));
        Assert.Equal(["too_many_keys"], Reasons(Defaults, Update(keys: Keys(33))));
    }

    [Fact]
    public void At_max_keys_one_a_single_key_passes_and_two_are_refused()
    {
        var validator = new MetaPacketValidator(new ValidatorConfig(MaxKeys: 1));
        Assert.Empty(Reasons(validator, Update(keys: ["a"])));
        Assert.Equal(["too_many_keys"], Reasons(validator, Update(keys: ["a", "b"])));
    }

    [Fact]
    public void The_empty_name_is_a_key_and_counts_toward_max_keys()
    {
        var validator = new MetaPacketValidator(new ValidatorConfig(MaxKeys: 2));
        Assert.Empty(Reasons(validator, Update(keys: ["", "a"])));
        Assert.Equal(["too_many_keys"], Reasons(validator, Update(keys: ["", "a", "b"])));
    }

    // length_mismatch: keys and vector

    [Fact]
    public void A_vector_one_longer_or_one_shorter_than_the_keys_is_a_length_mismatch()
    {
        Assert.Equal(["length_mismatch"], Reasons(Defaults, Update(keys: ["a", "b"], vector: [0f, 0f, 0f])));
        Assert.Equal(["length_mismatch"], Reasons(Defaults, Update(keys: ["a", "b"], vector: [0f])));
    }

    [Fact]
    public void Keys_with_an_empty_vector_are_a_length_mismatch_and_a_null_vector_reads_as_empty()
    {
        Assert.Equal(["length_mismatch"], Reasons(Defaults, Update(keys: ["a"], vector: [])));
        Assert.Equal(["length_mismatch"], Reasons(Defaults, Update(keys: ["a"]) with { Vector = null! }));
    }

    [Fact]
    public void A_keyed_update_without_keys_but_with_values_is_a_length_mismatch_not_a_dense_update()
    {
        // A DomainMetaUpdate is keyed (§7: keys = sorted parameter names); only the dense lane, through ValidateParts,
        // has no keys. Null keys read as none, as a null vector reads as empty: two values for no key.
        var update = Update(keys: ["a", "b"]) with { Keys = null! };

        Assert.Equal(["length_mismatch"], Reasons(Defaults, update));
    }

    // duplicate_keys: keys compared ordinally

    [Fact]
    public void A_repeated_key_anywhere_is_refused_once()
    {
        Assert.Equal(["duplicate_keys"], Reasons(Defaults, Update(keys: ["x", "y", "x"])));
        Assert.Equal(["duplicate_keys"], Reasons(Defaults, Update(keys: ["x", "x", "y", "y"])));
        Assert.Equal(["duplicate_keys"], Reasons(Defaults, Update(keys: ["", ""])));
    }

    [Fact]
    public void Keys_that_differ_only_in_case_or_normalisation_are_distinct()
    {
        Assert.Empty(Reasons(Defaults, Update(keys: ["tau", "Tau", "TAU"])));
        Assert.Empty(Reasons(Defaults, Update(keys: ["\u00e9", "e\u0301"])));
    }

    // score_delta: "|score_delta| > max_score_delta" (strict: equal passes)

    [Fact]
    public void A_score_delta_of_exactly_plus_or_minus_max_passes_and_the_next_double_beyond_is_refused()
    {
        Assert.Empty(Reasons(Defaults, Update(scoreDelta: 1.0)));
        Assert.Empty(Reasons(Defaults, Update(scoreDelta: -1.0)));
        Assert.Equal(["score_delta"], Reasons(Defaults, Update(scoreDelta: Math.BitIncrement(1.0))));
        Assert.Equal(["score_delta"], Reasons(Defaults, Update(scoreDelta: Math.BitDecrement(-1.0))));
    }

    [Fact]
    public void At_max_score_delta_zero_only_an_unchanged_score_passes()
    {
        var validator = new MetaPacketValidator(new ValidatorConfig(MaxScoreDelta: 0.0));
        Assert.Empty(Reasons(validator, Update(scoreDelta: 0.0)));
        Assert.Empty(Reasons(validator, Update(scoreDelta: -0.0)));
        Assert.Equal(["score_delta"], Reasons(validator, Update(scoreDelta: double.Epsilon)));
        Assert.Equal(["score_delta"], Reasons(validator, Update(scoreDelta: -double.Epsilon)));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void A_non_finite_score_delta_is_refused_even_when_max_score_delta_is_infinite(double scoreDelta)
    {
        var validator = new MetaPacketValidator(new ValidatorConfig(MaxScoreDelta: double.PositiveInfinity));
        Assert.Equal(["score_delta"], Reasons(validator, Update(scoreDelta: scoreDelta)));
        Assert.Empty(Reasons(validator, Update(scoreDelta: double.MaxValue)));
        Assert.Empty(Reasons(validator, Update(scoreDelta: -double.MaxValue)));
    }

    // non_finite: a vector value

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void A_non_finite_value_in_any_position_is_refused(int position)
    {
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var vector = new float[3];
            vector[position] = bad;
            Assert.Equal(["non_finite"], Reasons(Defaults, Update(keys: ["a", "b", "c"], vector: vector)));
        }
    }

    [Fact]
    public void The_largest_finite_float_values_pass()
    {
        Assert.Empty(Reasons(Defaults, Update(keys: ["a", "b", "c"], vector: [float.MaxValue, float.MinValue, float.Epsilon])));
    }

    [Fact]
    public void Several_non_finite_values_are_reported_once()
    {
        Assert.Equal(["non_finite"], Reasons(Defaults, Update(keys: ["a", "b"], vector: [float.NaN, float.NaN])));
    }

    // order: "returns every rule the update breaks, in this order"

    public static TheoryData<string[], DomainMetaUpdate> Pairs() => new()
    {
        { ["confidence", "too_many_keys"], Update(confidence: 0.05, keys: Keys(33)) },
        { ["too_many_keys", "length_mismatch"], Update(keys: Keys(33), vector: new float[32]) },
        { ["length_mismatch", "duplicate_keys"], Update(keys: ["a", "a"], vector: [0f]) },
        { ["duplicate_keys", "score_delta"], Update(keys: ["a", "a"], scoreDelta: 2.0) },
        { ["score_delta", "non_finite"], Update(scoreDelta: -2.0, vector: [float.NaN, 0f]) },
        { ["confidence", "non_finite"], Update(confidence: 2.0, vector: [0f, float.PositiveInfinity]) },
        { ["confidence", "score_delta"], Update(confidence: double.NaN, scoreDelta: double.NaN) },
        { ["too_many_keys", "duplicate_keys", "non_finite"], Update(keys: [.. Keys(33).SkipLast(1), "k000"], vector: [.. new float[32], float.NaN]) },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Every_broken_rule_is_reported_once_in_the_design_order(string[] expected, DomainMetaUpdate update)
    {
        Assert.Equal(expected, Reasons(Defaults, update));
    }

    [Fact]
    public void The_published_rule_names_are_the_design_words_in_the_design_order()
    {
        Assert.Equal(["confidence", "too_many_keys", "length_mismatch", "duplicate_keys", "score_delta", "non_finite"], MetaPacketValidator.RuleOrder);
    }

    // the dense lane's form (DESIGN §10: "The validator's rules apply except max_keys")

    [Fact]
    public void Without_keys_the_value_rules_still_apply_at_their_bounds_and_no_key_rule_does()
    {
        var vector = new float[Defaults.Config.MaxKeys + 1];
        Assert.Empty(Defaults.ValidateParts(0.1, keys: null, vector, scoreDelta: -1.0));
        Assert.Empty(Defaults.ValidateParts(1.0, keys: null, vector, scoreDelta: 1.0));
        Assert.Equal(["confidence"], Defaults.ValidateParts(Math.BitDecrement(0.1), keys: null, vector, scoreDelta: 0));
        Assert.Equal(["score_delta"], Defaults.ValidateParts(0.5, keys: null, vector, scoreDelta: Math.BitIncrement(1.0)));
        vector[^1] = float.NaN;
        Assert.Equal(["confidence", "score_delta", "non_finite"], Defaults.ValidateParts(1.5, keys: null, vector, scoreDelta: double.NaN));
    }

    [Fact]
    public void Validate_refuses_a_null_update_naming_it()
    {
        var error = Assert.Throws<ArgumentNullException>(() => Defaults.Validate(null!));
        Assert.Equal("update", error.ParamName);
    }
}
