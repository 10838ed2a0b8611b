using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// Robustness: attackers far from the honest domains must not pull the aggregate outside the honest range.
/// </summary>
public sealed class ByzantineAggregationTests
{
    private const int Columns = 6;

    public enum Attack
    {
        Shifted,
        SignFlippedTimesTen,
        TimesMillion,
    }

    public static TheoryData<int, Attack, AggregationMethod> DefaultConfigCases()
    {
        var data = new TheoryData<int, Attack, AggregationMethod>();
        foreach (var n in new[] { 7, 9, 15 })
            foreach (var attack in Enum.GetValues<Attack>())
                foreach (var method in Enum.GetValues<AggregationMethod>())
                    data.Add(n, attack, method);
        return data;
    }

    /// <summary>Honest values cluster around 1 + d/2 per column (away from 0, so sign flips land far away).</summary>
    private static List<DomainUpdateInput> Honest(int n, Random random, out double[] min, out double[] max)
    {
        var keys = Enumerable.Range(0, Columns).Select(d => $"w{d}").ToArray();
        min = Enumerable.Repeat(double.PositiveInfinity, Columns).ToArray();
        max = Enumerable.Repeat(double.NegativeInfinity, Columns).ToArray();
        var updates = new List<DomainUpdateInput>();
        for (var i = 0; i < n; i++)
        {
            var vector = new float[Columns];
            for (var d = 0; d < Columns; d++)
            {
                vector[d] = (float)(1.0 + d / 2.0 + (random.NextDouble() - 0.5) * 0.2);
                min[d] = Math.Min(min[d], vector[d]);
                max[d] = Math.Max(max[d], vector[d]);
            }
            updates.Add(new DomainUpdateInput($"honest{i:D2}", keys, vector, 0.2 + 0.6 * random.NextDouble()));
        }
        return updates;
    }

    private static DomainUpdateInput Attacker(int index, Attack attack, DomainUpdateInput template) => new(
        $"attacker{index:D2}",
        template.Keys,
        template.Vector.Select(v => attack switch
        {
            Attack.Shifted => v + 1e3f,
            Attack.SignFlippedTimesTen => -10f * v,
            _ => v * 1e6f,
        }).ToArray(),
        1.0);

    private static void AssertWithinHonestRange(AggregationResult result, double[] min, double[] max, string label)
    {
        Assert.Equal(Columns, result.Keys.Count);
        for (var d = 0; d < Columns; d++)
            Assert.True(result.Vector[d] >= (float)min[d] && result.Vector[d] <= (float)max[d],
                $"{label}: column {result.Keys[d]} = {result.Vector[d]} outside the honest range [{min[d]}, {max[d]}]");
    }

    [Theory]
    [MemberData(nameof(DefaultConfigCases))]
    public void Default_config_keeps_the_aggregate_in_the_honest_range(int n, Attack attack, AggregationMethod method)
    {
        var random = new Random(n * 31 + (int)attack);
        var honest = Honest(n, random, out var min, out var max);
        var config = CrossMetaConfig.Default with { Method = method };
        for (var attackers = 0; attackers <= (n - 1) / 2; attackers++)
        {
            // Attackers copy (and corrupt) honest rows, spread between the honest ones so row order does not help.
            var updates = new List<DomainUpdateInput>(honest);
            for (var a = 0; a < attackers; a++)
                updates.Insert(random.Next(updates.Count + 1), Attacker(a, attack, honest[random.Next(n)]));

            var result = CrossDomainMetaAggregator.Aggregate(updates, config);

            AssertWithinHonestRange(result, min, max, $"n={n} attackers={attackers} {attack} {method}");
            Assert.Equal(attackers, result.Meta.Outliers.Count(id => id.StartsWith("attacker", StringComparison.Ordinal)));
        }
    }

    [Theory]
    [InlineData(3, 1, 0.25)]
    [InlineData(2, 1, 0.4)]
    [InlineData(3, 1, 0.45)]
    public void Below_outlier_min_domains_the_trimmed_mean_holds_when_k_covers_the_attackers(int n, int attackers, double alpha)
    {
        // No outlier pass (n + attackers < 5): the trimmed mean alone. With k = floor(alpha * N) >= attackers every
        // kept order statistic has an honest value on each side, so the result stays in the honest range.
        foreach (var attack in Enum.GetValues<Attack>())
        {
            var random = new Random(n * 7 + attackers);
            var honest = Honest(n, random, out var min, out var max);
            var updates = new List<DomainUpdateInput>(honest);
            for (var a = 0; a < attackers; a++) updates.Insert(a % 2 == 0 ? 0 : updates.Count, Attacker(a, attack, honest[a % n]));
            var config = CrossMetaConfig.Default with { Method = AggregationMethod.TrimmedMean, TrimAlpha = alpha };
            Assert.True(ColumnRules.TrimCount(alpha, updates.Count) >= attackers);
            Assert.True(updates.Count < config.OutlierMinDomains);

            var result = CrossDomainMetaAggregator.Aggregate(updates, config);

            Assert.Empty(result.Meta.Outliers);
            AssertWithinHonestRange(result, min, max, $"n={n} attackers={attackers} {attack}");
        }
    }

    [Fact]
    public void Below_outlier_min_domains_without_enough_trim_an_attacker_moves_the_mean()
    {
        // The guarantee needs k >= attackers: with k = 0 the trimmed mean is the weighted mean, which one attacker
        // drags anywhere. This pins down that the previous test is not vacuous.
        var random = new Random(5);
        var honest = Honest(3, random, out _, out var max);
        var updates = new List<DomainUpdateInput>(honest) { Attacker(0, Attack.Shifted, honest[0]) };

        var result = CrossDomainMetaAggregator.Aggregate(updates, CrossMetaConfig.Default);

        Assert.True(result.Vector[0] > max[0]);
    }
}
