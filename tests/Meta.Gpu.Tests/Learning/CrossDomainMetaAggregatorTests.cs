using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Learning;

public sealed class CrossDomainMetaAggregatorTests
{
    private static DomainUpdateInput U(string id, double confidence, params (string Key, float Value)[] cells) =>
        new(id, cells.Select(c => c.Key).ToArray(), cells.Select(c => c.Value).ToArray(), confidence);

    /// <summary>Weights exactly the confidences: no outlier pass, no balancing.</summary>
    private static readonly CrossMetaConfig Plain = new(OutlierFilter: false, DiversityEntropyTarget: null);

    private static double Single(AggregationResult result, string key) => result.Vector[result.Keys.ToList().IndexOf(key)];

    [Fact]
    public void Mean_weights_by_confidence()
    {
        var result = CrossDomainMetaAggregator.Aggregate(
            [U("a", 0.25, ("x", 0f)), U("b", 0.75, ("x", 4f))], Plain with { Method = AggregationMethod.Mean });

        Assert.Equal(3.0, Single(result, "x"), 12);
        Assert.Equal(2, result.Meta.Participants);
        Assert.Equal(0.5, result.Meta.ConfidenceMean, 12);
        Assert.Equal(1.0 / (0.25 * 0.25 + 0.75 * 0.75), result.Meta.EffectiveDomains, 12);
    }

    [Fact]
    public void Uniform_weighting_ignores_confidence()
    {
        var result = CrossDomainMetaAggregator.Aggregate(
            [U("a", 0.25, ("x", 0f)), U("b", 0.75, ("x", 4f))], Plain with { Method = AggregationMethod.Mean, Weighting = DomainWeighting.Uniform });

        Assert.Equal(2.0, Single(result, "x"), 12);
        Assert.Equal(1.0, result.Meta.WeightEntropy, 12);
    }

    [Fact]
    public void Trimmed_mean_drops_floor_alpha_n_from_each_end_and_breaks_ties_by_lower_row()
    {
        // Sorted (value, row): (1, r0) (1, r1) (3, r2) (5, r3); k = floor(0.25 * 4) = 1 drops r0 and r3, so the
        // heavy r1 stays: (0.7 * 1 + 0.1 * 3) / 0.8 = 1.25. Dropping r1 instead would give 2.0.
        var result = CrossDomainMetaAggregator.Aggregate(
            [U("a", 0.1, ("x", 1f)), U("b", 0.7, ("x", 1f)), U("c", 0.1, ("x", 3f)), U("d", 0.1, ("x", 5f))],
            Plain with { Method = AggregationMethod.TrimmedMean, TrimAlpha = 0.25 });

        Assert.Equal(1.25, Single(result, "x"), 6);
    }

    [Fact]
    public void Trimmed_mean_with_k_zero_is_the_weighted_mean()
    {
        // floor(0.1 * 4) = 0.
        var result = CrossDomainMetaAggregator.Aggregate(
            [U("a", 0.5, ("x", 0f)), U("b", 0.5, ("x", 0f)), U("c", 0.5, ("x", 0f)), U("d", 1.5, ("x", 100f))],
            Plain with { Method = AggregationMethod.TrimmedMean, TrimAlpha = 0.1 });

        Assert.Equal(50.0, Single(result, "x"), 6);
    }

    [Fact]
    public void Trim_count_is_computed_in_float64()
    {
        Assert.Equal(3, ColumnRules.TrimCount(0.3, 10)); // 0.3 * 10 = 3.0000000000000004
        Assert.Equal(0, ColumnRules.TrimCount(0.1, 9));
        Assert.Equal(1, ColumnRules.TrimCount(0.1, 10));
    }

    [Fact]
    public void Median_is_unweighted_and_averages_the_two_middle_values()
    {
        var odd = CrossDomainMetaAggregator.Aggregate(
            [U("a", 1.0, ("x", 9f)), U("b", 0.1, ("x", 1f)), U("c", 0.1, ("x", 2f))], Plain with { Method = AggregationMethod.Median });
        var even = CrossDomainMetaAggregator.Aggregate(
            [U("a", 1.0, ("x", 9f)), U("b", 0.1, ("x", 1f)), U("c", 0.1, ("x", 2f)), U("d", 0.1, ("x", 4f))], Plain with { Method = AggregationMethod.Median });

        Assert.Equal(2.0, Single(odd, "x"), 12);
        Assert.Equal(3.0, Single(even, "x"), 12);
    }

    [Fact]
    public void Weighted_median_takes_the_first_value_reaching_half_the_mass()
    {
        // q = 0.1 0.2 0.3 0.4 over 1 2 3 4: running 0.1 0.3 0.6 -> 3.
        var result = CrossDomainMetaAggregator.Aggregate(
            [U("a", 0.1, ("x", 1f)), U("b", 0.2, ("x", 2f)), U("c", 0.3, ("x", 3f)), U("d", 0.4, ("x", 4f))],
            Plain with { Method = AggregationMethod.WeightedMedian });

        Assert.Equal(3.0, Single(result, "x"), 12);
    }

    [Fact]
    public void Weighted_median_averages_with_the_next_value_at_exactly_half()
    {
        var result = CrossDomainMetaAggregator.Aggregate(
            [U("a", 0.5, ("x", 4f)), U("b", 0.5, ("x", 1f)), U("c", 0.5, ("x", 3f)), U("d", 0.5, ("x", 2f))],
            Plain with { Method = AggregationMethod.WeightedMedian });

        Assert.Equal(2.5, Single(result, "x"), 12);
    }

    [Fact]
    public void Weighted_median_ties_keep_row_order()
    {
        // Equal values sorted by row: (2, r0 q=.25) (2, r1 q=.25) (7, r2 q=.5): c = .25, .5 -> exactly half at j=1,
        // the mean with the next value (7): 4.5.
        var cells = new ColumnCell[] { new(7, 0.5, 2), new(2, 0.25, 1), new(2, 0.25, 0) };
        Assert.Equal(4.5, ColumnRules.WeightedMedian(cells), 12);
        Assert.Equal([2, 1, 0], ColumnRules.SortedOrder(cells));
    }

    [Fact]
    public void Missing_keys_ignore_leaves_cells_out_and_zero_counts_them()
    {
        DomainUpdateInput[] updates = [U("a", 1.0, ("x", 2f), ("y", 4f)), U("b", 1.0, ("x", 4f))];

        var ignore = CrossDomainMetaAggregator.Aggregate(updates, Plain with { Method = AggregationMethod.Mean });
        var zero = CrossDomainMetaAggregator.Aggregate(updates, Plain with { Method = AggregationMethod.Mean, MissingKeys = MissingKeys.Zero });

        Assert.Equal(["x", "y"], ignore.Keys);
        Assert.Equal([3f, 4f], ignore.Vector);
        Assert.Equal([3f, 2f], zero.Vector);
    }

    [Fact]
    public void Keys_are_the_ordinal_sorted_union()
    {
        var result = CrossDomainMetaAggregator.Aggregate(
            [U("a", 1.0, ("b", 1f), ("B", 1f)), U("b", 1.0, ("a", 1f), ("_", 1f))], Plain);

        Assert.Equal(["B", "_", "a", "b"], result.Keys);
    }

    [Fact]
    public void Eligibility_counts_each_update_under_the_first_rule_it_breaks()
    {
        var config = Plain with { MinConfidence = 0.2 };
        var result = CrossDomainMetaAggregator.Aggregate(
        [
            new DomainUpdateInput("empty-and-low", [], [], double.NaN),
            U("nonfinite-and-low", 0.0, ("x", float.NaN)),
            U("inf", 0.9, ("x", float.PositiveInfinity)),
            U("low", 0.1999, ("x", 1f)),
            U("nan-confidence", double.NaN, ("x", 1f)),
            U("equal-kept", 0.2, ("x", 5f)),
        ], config);

        Assert.Equal(1, result.Meta.RejectedEmpty);
        Assert.Equal(2, result.Meta.RejectedNonfinite);
        Assert.Equal(2, result.Meta.RejectedLowConfidence);
        Assert.Equal(1, result.Meta.Participants);
        Assert.Equal([5f], result.Vector);
    }

    [Fact]
    public void No_eligible_update_gives_the_empty_result()
    {
        var result = CrossDomainMetaAggregator.Aggregate([U("a", 0.01, ("x", 1f))], CrossMetaConfig.Default);

        Assert.Empty(result.Vector);
        Assert.Empty(result.Keys);
        var meta = result.Meta;
        Assert.Equal((0, 1, 0, 0), (meta.Participants, meta.RejectedLowConfidence, meta.RejectedNonfinite, meta.RejectedEmpty));
        Assert.Empty(meta.Outliers);
        Assert.Equal((0.0, 1.0, 1.0, 0.0), (meta.ConfidenceMean, meta.WeightEntropy, meta.DiversityTemperature, meta.EffectiveDomains));
        Assert.Equal(AggregationMethod.TrimmedMean, meta.Method);

        var none = CrossDomainMetaAggregator.Aggregate([], CrossMetaConfig.Default);
        Assert.Equal(0, none.Meta.Participants);
    }

    [Fact]
    public void Malformed_updates_are_refused_naming_the_domain()
    {
        var lengths = Assert.Throws<InvalidInputException>(() => CrossDomainMetaAggregator.Aggregate(
            [U("ok", 1.0, ("x", 1f)), new DomainUpdateInput("d3", ["a", "b", "c", "d"], [1f, 2f, 3f], 1.0)], CrossMetaConfig.Default));
        Assert.Equal("domain \"d3\": 4 keys but 3 values", lengths.Message);

        var repeated = Assert.Throws<InvalidInputException>(() => CrossDomainMetaAggregator.Aggregate(
            [new DomainUpdateInput("d7", ["a", "b", "a"], [1f, 2f, 3f], 1.0)], CrossMetaConfig.Default));
        Assert.Contains("domain \"d7\"", repeated.Message, StringComparison.Ordinal);
        Assert.Contains("\"a\" is repeated", repeated.Message, StringComparison.Ordinal);

        // Malformed even when it would be ineligible anyway: an error, never a silent truncation.
        Assert.Throws<InvalidInputException>(() => CrossDomainMetaAggregator.Aggregate(
            [new DomainUpdateInput("d9", [], [1f], 0.0)], CrossMetaConfig.Default));
    }

    [Fact]
    public void Outlier_pass_drops_far_domains_in_row_order_and_recomputes_the_keys()
    {
        var config = CrossMetaConfig.Default with { Method = AggregationMethod.Mean, DiversityEntropyTarget = null };
        var result = CrossDomainMetaAggregator.Aggregate(
        [
            U("h0", 1.0, ("x", 1.00f)),
            U("bad1", 1.0, ("x", 500f), ("only_bad", 9f)),
            U("h1", 1.0, ("x", 1.10f)),
            U("h2", 1.0, ("x", 0.90f)),
            U("bad0", 1.0, ("x", -400f)),
            U("h3", 1.0, ("x", 1.05f)),
            U("h4", 1.0, ("x", 0.95f)),
        ], config);

        Assert.Equal(["bad1", "bad0"], result.Meta.Outliers);
        Assert.Equal(5, result.Meta.Participants);
        Assert.Equal(["x"], result.Keys);
        Assert.Equal(1.0, result.Vector[0], 5);
    }

    [Fact]
    public void Outlier_pass_needs_outlier_min_domains()
    {
        var config = CrossMetaConfig.Default with { Method = AggregationMethod.Mean, DiversityEntropyTarget = null };
        DomainUpdateInput[] updates = [U("a", 1.0, ("x", 1f)), U("b", 1.0, ("x", 1.1f)), U("c", 1.0, ("x", 0.9f)), U("d", 1.0, ("x", 900f))];

        Assert.Empty(CrossDomainMetaAggregator.Aggregate(updates, config).Meta.Outliers);
        Assert.Equal(["d"], CrossDomainMetaAggregator.Aggregate(updates, config with { OutlierMinDomains = 4 }).Meta.Outliers);
    }

    [Fact]
    public void Outlier_cap_keeps_the_majority_dropping_the_largest_distances_first_lower_row_on_ties()
    {
        // m = 2.5; r = 10, 10, 20, 1.5, 0.5, 0.5; median(r) = 5.75, scale = 1.4826 * 4.75; with z = 0.5 the three
        // r >= 10 are flagged, more than floor((6-1)/2) = 2: the largest (c) goes, then of the tie at 10 the lower
        // row (a).
        var config = CrossMetaConfig.Default with { Method = AggregationMethod.Mean, OutlierZ = 0.5, DiversityEntropyTarget = null };
        var result = CrossDomainMetaAggregator.Aggregate(
        [
            U("a", 1.0, ("x", -7.5f)), U("b", 1.0, ("x", 12.5f)), U("c", 1.0, ("x", 22.5f)),
            U("d", 1.0, ("x", 1f)), U("e", 1.0, ("x", 2f)), U("f", 1.0, ("x", 3f)),
        ], config);

        Assert.Equal(["a", "c"], result.Meta.Outliers);
        Assert.Equal(4, result.Meta.Participants);
        Assert.Equal((12.5 + 1 + 2 + 3) / 4, result.Vector[0], 6);
    }

    [Fact]
    public void Diversity_balancing_flattens_skewed_weights_up_to_the_target()
    {
        var config = Plain with { Method = AggregationMethod.Mean, DiversityEntropyTarget = 0.9 };
        var result = CrossDomainMetaAggregator.Aggregate(
            [U("a", 1.0, ("x", 0f)), U("b", 0.06, ("x", 1f)), U("c", 0.06, ("x", 1f)), U("d", 0.06, ("x", 1f))], config);

        Assert.InRange(result.Meta.DiversityTemperature, 0.0, 0.999);
        Assert.InRange(result.Meta.WeightEntropy, 0.9, 0.9 + 1e-9);

        var untouched = CrossDomainMetaAggregator.Aggregate(
            [U("a", 0.5, ("x", 0f)), U("b", 0.5, ("x", 1f))], config);
        Assert.Equal(1.0, untouched.Meta.DiversityTemperature);
    }

    [Fact]
    public void Output_is_rounded_to_float32_only_at_the_end()
    {
        // 1/3 computed in float64 then rounded once.
        var result = CrossDomainMetaAggregator.Aggregate(
            [U("a", 1.0, ("x", 0f)), U("b", 1.0, ("x", 0f)), U("c", 1.0, ("x", 1f))], Plain with { Method = AggregationMethod.Mean });

        Assert.Equal((float)(1.0 / 3.0), result.Vector[0]);
    }

    [Fact]
    public void Result_deconstructs_to_vector_keys_and_meta()
    {
        var (vector, keys, meta) = CrossDomainMetaAggregator.Aggregate([U("a", 1.0, ("x", 2f))], Plain);

        Assert.Equal([2f], vector);
        Assert.Equal(["x"], keys);
        Assert.Equal(1, meta.Participants);
    }

    [Fact]
    public void Config_out_of_range_is_refused()
    {
        Assert.Throws<InvalidInputException>(() => new CrossDomainMetaAggregator(CrossMetaConfig.Default with { TrimAlpha = 0.5 }));
        Assert.Throws<InvalidInputException>(() => CrossDomainMetaAggregator.Aggregate([], CrossMetaConfig.Default with { MinConfidence = 0 }));
    }

    [Fact]
    public void Json_settings_treat_an_explicit_null_as_off_and_a_missing_key_as_the_default()
    {
        var section = System.Text.Json.Nodes.JsonNode.Parse("""{"outlier_filter": null, "diversity_entropy_target": null, "method": "mean"}""")!.AsObject();
        var config = CrossMetaConfig.Default.With(section, "config");

        Assert.False(config.OutlierFilter);
        Assert.Null(config.DiversityEntropyTarget);
        Assert.Equal(AggregationMethod.Mean, config.Method);
        Assert.Equal(0.1, config.TrimAlpha);
    }

    [Fact]
    public void Learner_updates_aggregate_directly()
    {
        var aggregator = new CrossDomainMetaAggregator(Plain with { Method = AggregationMethod.Mean });
        Meta.Gpu.Learning.DomainMetaUpdate[] updates =
        [
            new("a", ["x"], [1f], 0.5, 0.5, DateTimeOffset.UnixEpoch, 0),
            new("b", ["x"], [3f], 0.5, 0.5, DateTimeOffset.UnixEpoch, 0),
        ];

        Assert.Equal([2f], aggregator.Aggregate(updates).Vector);
    }
}
