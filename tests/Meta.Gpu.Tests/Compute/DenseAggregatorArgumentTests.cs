using Meta.Gpu.Compute;
using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Compute;

/// <summary>The dense aggregator's step entry points refuse a prior or an aggregate of the wrong length, naming
/// it, before anything is read or written.</summary>
public sealed class DenseAggregatorArgumentTests
{
    private static DomainBatch Batch()
    {
        var batch = new DomainBatch(3, 5);
        for (var r = 0; r < 3; r++)
        {
            batch.Row(r).Fill(r + 1f);
            batch.Confidences[r] = 0.9;
        }
        batch.MarkChanged();
        return batch;
    }

    private static readonly ReptileStep Step = new(ReptileRule.Interpolate, 0.5);

    [Fact]
    public void Both_AggregateAndStep_overloads_refuse_a_prior_or_an_aggregate_of_the_wrong_length_and_leave_the_prior()
    {
        using var backend = new CpuBackend();
        var aggregator = new DenseCrossDomainAggregator(backend);
        var batch = Batch();
        var shortPrior = new float[4];
        var prior = new float[5];

        Assert.Contains("prior must be 5 long", Assert.Throws<ArgumentException>(() => aggregator.AggregateAndStep(batch, shortPrior, Step)).Message);
        Assert.Contains("prior must be 5 long", Assert.Throws<ArgumentException>(() => aggregator.AggregateAndStep(batch, new ResidentPrior(shortPrior), Step)).Message);
        var span = Assert.Throws<ArgumentException>(() => aggregator.AggregateAndStep(batch, prior, Step, new float[3]));
        var resident = Assert.Throws<ArgumentException>(() => aggregator.AggregateAndStep(batch, new ResidentPrior(prior), Step, new float[3]));
        foreach (var error in new[] { span, resident })
        {
            Assert.Equal("aggregate", error.ParamName);
            Assert.Contains("aggregate must be empty or 5 long", error.Message);
        }
        Assert.All(prior, v => Assert.Equal(0f, v));
        Assert.Throws<ArgumentNullException>(() => aggregator.AggregateAndStep(batch, (ResidentPrior)null!, Step));
    }

    [Fact]
    public void AggregateInto_refuses_an_aggregate_of_the_wrong_length_and_leaves_the_optimizer()
    {
        using var backend = new CpuBackend();
        var aggregator = new DenseCrossDomainAggregator(backend);
        var optimizer = new DenseReptileOptimizer(5, initialPrior: new float[5]);

        var error = Assert.Throws<ArgumentException>(() => aggregator.AggregateInto(Batch(), optimizer, 0.0, default, new float[6]));
        Assert.Equal("aggregate", error.ParamName);
        Assert.All(optimizer.Prior, v => Assert.Equal(0f, v));
        Assert.Equal(0, optimizer.SavedVersions);
    }

    [Fact]
    public void A_row_without_a_domain_id_is_refused_before_the_round()
    {
        // It was aggregated, and where its row was an outlier the meta listed it as "outliers": [null].
        using var backend = new CpuBackend();
        var aggregator = new DenseCrossDomainAggregator(backend);
        var batch = new DomainBatch(6, 5);
        for (var r = 0; r < 6; r++)
        {
            batch.Row(r).Fill(r == 5 ? 1000f : 1f + r * 0.01f);
            batch.Confidences[r] = 0.9;
        }
        batch.Ids[5] = null!;
        var optimizer = new DenseReptileOptimizer(5, initialPrior: new float[5]);

        var error = Assert.Throws<ArgumentException>(() => aggregator.Aggregate(batch));
        Assert.Equal("batch", error.ParamName);
        Assert.Contains("Ids[5] is null", error.Message);
        Assert.Throws<ArgumentException>(() => aggregator.AggregateInto(batch, optimizer, 1.0, default));
        Assert.All(optimizer.Prior, v => Assert.Equal(0f, v));
        Assert.Equal(0, optimizer.SavedVersions);
        Assert.Equal(0, optimizer.Round);
    }

    [Fact]
    public void AggregateInto_refuses_a_non_finite_reward_before_the_round()
    {
        using var backend = new CpuBackend();
        var aggregator = new DenseCrossDomainAggregator(backend);
        var optimizer = new DenseReptileOptimizer(5, new OptimizerConfig(), new float[5]);
        var error = Assert.Throws<InvalidInputException>(() => aggregator.AggregateInto(Batch(), optimizer, double.NaN, default));
        Assert.Contains("reward is not finite", error.Message);
        Assert.All(optimizer.Prior, v => Assert.Equal(0f, v));
        Assert.Equal(0, optimizer.Round);
        Assert.Equal(0, optimizer.SavedVersions);
        Assert.Equal(0.0, optimizer.RewardEma);
    }

    [Fact]
    public void A_method_or_a_rule_outside_its_enum_is_refused_by_the_backend_before_it_writes()
    {
        // A cast method failed inside the cpu kernels' parallel loop (an AggregateException); a cast rule was
        // taken as the delta rule.
        using var backend = new CpuBackend();
        var batch = Batch();
        var prior = new float[5];
        var rows = new[] { 0, 1, 2 };
        var weights = new[] { 1 / 3.0, 1 / 3.0, 1 / 3.0 };
        var method = Assert.Throws<ArgumentOutOfRangeException>(() =>
            backend.Combine(batch, rows, weights, (Meta.Gpu.Learning.Aggregation.AggregationMethod)42, 0.1, false, new float[5], prior, Step));
        Assert.Equal("method", method.ParamName);
        var rule = Assert.Throws<ArgumentOutOfRangeException>(() =>
            backend.Combine(batch, rows, weights, Meta.Gpu.Learning.Aggregation.AggregationMethod.Mean, 0.1, false, new float[5], prior, new ReptileStep((ReptileRule)9, 0.5)));
        Assert.Equal("step", rule.ParamName);
        Assert.All(prior, v => Assert.Equal(0f, v));
    }
}
