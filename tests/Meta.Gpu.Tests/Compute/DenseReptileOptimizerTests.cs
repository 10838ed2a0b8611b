using Meta.Gpu.Compute;
using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Compute;

[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class DenseReptileOptimizerTests
{
    [Fact]
    public void A_rollback_copy_that_cannot_be_allocated_changes_nothing()
    {
        // At a large D the copy's allocation may fail. It came after beta moved and the ring advanced: beta had
        // moved for a round that never happened, and the next rollback "restored" an empty slot.
        var optimizer = new DenseReptileOptimizer(3, OptimizerConfig.Default with { BackupVersions = 4 }, [0f, 0f, 0f]);
        var free = new DrgFlags(false, false, BandwidthFree: true);
        optimizer.Apply([1f, 1f, 1f], 0.0, free);
        var (beta, saved, round, prior) = (optimizer.Beta, optimizer.SavedVersions, optimizer.Round, optimizer.Prior.ToArray());

        optimizer.NewCopy = _ => throw new OutOfMemoryException("no room for the copy");
        Assert.Throws<OutOfMemoryException>(() => optimizer.Apply([2f, 2f, 2f], 0.0, free));

        Assert.Equal((beta, saved, round), (optimizer.Beta, optimizer.SavedVersions, optimizer.Round));
        Assert.Equal(prior, optimizer.Prior);
        Assert.True(optimizer.Rollback());
        Assert.Equal([0f, 0f, 0f], optimizer.Prior); // the copy saved before the first step
    }

    [Fact]
    public void Step_rules_and_nan_columns()
    {
        var interpolate = new ReptileStep(ReptileRule.Interpolate, 0.25);
        var delta = new ReptileStep(ReptileRule.Delta, 0.25);
        Assert.Equal(1.5f, DenseReptile.StepValue(1f, 3f, interpolate));
        Assert.Equal(1.75f, DenseReptile.StepValue(1f, 3f, delta));
        Assert.Equal(1f, DenseReptile.StepValue(1f, float.NaN, interpolate)); // empty column: unchanged
        Assert.Equal(3f, DenseReptile.StepValue(float.NaN, 3f, interpolate)); // not set yet: adopts
        Assert.Equal(0.75f, DenseReptile.StepValue(float.NaN, 3f, delta)); // not set yet: starts from 0
    }

    [Fact]
    public void Beta_follows_the_drg_flags_and_is_clamped_once()
    {
        var optimizer = new DenseReptileOptimizer(2, new OptimizerConfig(), [0f, 0f]);
        var step = optimizer.BeginStep(new DrgFlags(VramHigh: true));
        Assert.Equal(0.08, step.Beta, 12);
        optimizer.CompleteStep(1.0);
        for (var i = 0; i < 5; i++) { optimizer.BeginStep(new DrgFlags(LatencyHigh: true)); optimizer.CompleteStep(1.0); }
        Assert.Equal(0.05, optimizer.Beta, 12); // floor: beta_init * beta_min_factor
        for (var i = 0; i < 30; i++) { optimizer.BeginStep(new DrgFlags(BandwidthFree: true)); optimizer.CompleteStep(1.0); }
        Assert.Equal(0.3, optimizer.Beta, 12); // ceiling: beta_max
        Assert.Equal(36, optimizer.Round);
    }

    [Fact]
    public void Apply_ema_should_rollback_and_rollback_through_the_ring()
    {
        var optimizer = new DenseReptileOptimizer(3, new OptimizerConfig(BackupVersions: 2));
        Assert.True(optimizer.Prior.All(float.IsNaN));
        optimizer.Apply([1f, 2f, float.NaN], 1.0, default);
        Assert.Equal(1f, optimizer.Prior[0]);
        Assert.True(float.IsNaN(optimizer.Prior[2]));
        Assert.Equal(0.3, optimizer.RewardEma, 12);
        optimizer.Apply([2f, 2f, 4f], 1.0, default);
        optimizer.Apply([3f, 2f, 4f], 1.0, default);
        var afterThird = optimizer.Prior.ToArray();
        Assert.Equal(2, optimizer.SavedVersions);
        Assert.True(optimizer.ShouldRollback(0.0)); // EMA 0.657 - 0 > 0.1
        Assert.False(optimizer.ShouldRollback(0.6));

        Assert.True(optimizer.Rollback()); // to the prior before the third apply
        Assert.NotEqual(afterThird, optimizer.Prior);
        Assert.Equal(1.1f, optimizer.Prior[0], 6);
        Assert.True(optimizer.Rollback()); // before the second apply
        Assert.Equal(1f, optimizer.Prior[0]);
        Assert.False(optimizer.Rollback()); // only two copies were kept
        Assert.Equal(1f, optimizer.Prior[0]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void An_abandoned_step_leaves_prior_beta_and_every_saved_version_as_before(int backups)
    {
        // Two optimizers take the same steps; one also begins a step, writes over part of its prior and abandons
        // it (a once-read round that met a non-finite cell) before every real step. Filling the ring first checks
        // that the abandoned step's copy did not take the oldest saved version's slot.
        var config = new OptimizerConfig(BackupVersions: backups);
        var plain = new DenseReptileOptimizer(3, config, [0f, 0f, 0f]);
        var redone = new DenseReptileOptimizer(3, config, [0f, 0f, 0f]);
        for (var round = 1; round <= backups + 3; round++)
        {
            var abandoned = redone.BeginStep(new DrgFlags(BandwidthFree: true));
            redone.Prior[0] = float.NaN;
            redone.Prior[2] = -999f;
            redone.AbandonStep();
            Assert.NotEqual(plain.Beta, abandoned.Beta); // the abandoned step had moved beta
            Assert.Equal(plain.Beta, redone.Beta);
            Assert.Equal(plain.Prior, redone.Prior);
            Assert.Equal(plain.SavedVersions, redone.SavedVersions);

            float[] aggregate = [round, 10f * round, -round];
            plain.Apply(aggregate, round, new DrgFlags(LatencyHigh: round % 2 == 0));
            redone.Apply(aggregate, round, new DrgFlags(LatencyHigh: round % 2 == 0));
        }
        Assert.Equal(backups, redone.SavedVersions);
        Assert.Throws<InvalidOperationException>(redone.AbandonStep);
        // A round redone with no participant takes no step after the abandoned one: the full ring must still
        // hold every saved version.
        redone.BeginStep(default);
        redone.AbandonStep();
        while (plain.Rollback())
        {
            Assert.True(redone.Rollback());
            Assert.Equal(plain.Prior, redone.Prior);
        }
        Assert.False(redone.Rollback());
    }

    [Fact]
    public void Aggregate_into_steps_the_prior_in_the_combine_pass()
    {
        var seed = TestSeed.Next();
        var batch = BatchScenario.Plain.Make(seed, 6, 40);
        var config = Meta.Gpu.Learning.Aggregation.CrossMetaConfig.Default;
        using var cpu = new CpuBackend();
        var aggregate = new DenseCrossDomainAggregator(cpu, config).Aggregate(batch).Aggregate!;
        var initial = Enumerable.Range(0, 40).Select(i => (float)Math.Sin(i)).ToArray();
        var expected = new DenseReptileOptimizer(40, null, initial);
        expected.Apply(aggregate, 0.5, new DrgFlags(BandwidthFree: true));

        var actual = new DenseReptileOptimizer(40, null, initial);
        var result = new DenseCrossDomainAggregator(cpu, config).AggregateInto(batch, actual, 0.5, new DrgFlags(BandwidthFree: true));
        Assert.Null(result.Aggregate);
        Assert.Equal(expected.Beta, actual.Beta);
        Assert.Equal(expected.RewardEma, actual.RewardEma);
        Assert.Equal(1, actual.Round);
        for (var c = 0; c < 40; c++) Assert.True(Math.Abs(expected.Prior[c] - actual.Prior[c]) <= 1e-6, $"seed {seed}, column {c}");
    }

    /// <summary>A device backend kept its copy of the prior while the prior's version was unchanged, and a step by
    /// another backend (cpu here) did not change the version: the device then stepped its stale copy and wrote it
    /// back over the cpu's round.</summary>
    [Fact]
    public void A_prior_stepped_by_another_backend_in_between_is_not_stepped_stale_on_the_device()
    {
        var seed = TestSeed.Next();
        const int n = 3, d = 40;
        using var device = ComputeBackends.Create(ComputeBackends.IlgpuCpu);
        using var cpu = new CpuBackend();
        var config = Meta.Gpu.Learning.Aggregation.CrossMetaConfig.Default with { OutlierFilter = false };
        var onDevice = new DenseCrossDomainAggregator(device, config);
        var onCpu = new DenseCrossDomainAggregator(cpu, config);
        var initial = new float[d];
        var mixed = new DenseReptileOptimizer(d, null, initial);
        var reference = new DenseReptileOptimizer(d, null, initial);

        for (var round = 0; round < 3; round++)
        {
            var batch = BatchScenario.Plain.Make(seed + round, n, d);
            (round == 1 ? onCpu : onDevice).AggregateInto(batch, mixed, 0.5, default);
            onCpu.AggregateInto(batch, reference, 0.5, default);
        }

        for (var c = 0; c < d; c++)
            Assert.True(Math.Abs(mixed.Prior[c] - reference.Prior[c]) <= 1e-4 + 1e-4 * Math.Abs(reference.Prior[c]),
                $"seed {seed}, column {c}: {mixed.Prior[c]} against {reference.Prior[c]}");
    }

    [Fact]
    public void Invalid_settings_name_the_field()
    {
        var ex = Assert.Throws<InvalidInputException>(() => new DenseReptileOptimizer(4, new OptimizerConfig(BackupVersions: -1)));
        Assert.Contains("optimizer.backup_versions", ex.Message);
    }

    [Fact]
    public async Task A_backup_versions_the_configuration_takes_never_fails_a_dense_update()
    {
        // int.MaxValue validated, then overflowed sizing the ring of copies when the first update fixed D.
        var refused = Assert.Throws<InvalidInputException>(() => MetaLearningConfig.FromJson("""{"optimizer": {"backup_versions": 2147483647}}"""));
        Assert.Contains("optimizer.backup_versions: must be <= 1000000", refused.Message, StringComparison.Ordinal);

        var config = MetaLearningConfig.FromJson("""{"optimizer": {"backup_versions": 1000000}}""");
        await using var bus = new Meta.Gpu.Runtime.EventBus();
        await using var agent = new MetaLearningAgent(bus, config);
        await agent.StartAsync();
        await agent.HandleAsync(new Meta.Gpu.Runtime.BusEvent(LearningTopics.DenseUpdate,
            new DenseUpdate("a", 1, 0.8, new DomainMetrics(GainP50: 0.5), new float[4])), default);
        Assert.Equal(["a"], agent.Dense.PendingDomains);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_non_finite_reward_is_refused_and_changes_nothing(double reward)
    {
        // It was taken: the prior stepped, the round counted, and the reward EMA stayed NaN for good.
        var optimizer = new DenseReptileOptimizer(2, new OptimizerConfig(), [0f, 0f]);
        Assert.Contains("reward is not finite", Assert.Throws<InvalidInputException>(() => optimizer.Apply([1f, 1f], reward, default)).Message);
        Assert.Equal([0f, 0f], optimizer.Prior);
        Assert.Equal(0, optimizer.Round);
        Assert.Equal(0, optimizer.SavedVersions);
        Assert.Equal(0.0, optimizer.RewardEma);
    }

    [Theory]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void An_infinite_aggregate_value_is_refused_and_changes_nothing(float value)
    {
        // It was stepped in: the prior held the infinity for good, and the round, beta and the EMA moved.
        var optimizer = new DenseReptileOptimizer(3, new OptimizerConfig(), [0f, 0f, 0f]);
        var error = Assert.Throws<InvalidInputException>(() => optimizer.Apply([1f, value, float.NaN], 1.0, new DrgFlags(VramHigh: true)));
        Assert.Contains("aggregate value 1 is not finite", error.Message);
        Assert.Equal([0f, 0f, 0f], optimizer.Prior);
        Assert.Equal(0, optimizer.Round);
        Assert.Equal(0, optimizer.SavedVersions);
        Assert.Equal(0.0, optimizer.RewardEma);
        Assert.Equal(optimizer.Config.BetaInit, optimizer.Beta);
    }

    [Fact]
    public void A_nan_reward_offered_once_does_not_switch_the_rollback_off()
    {
        // A NaN EMA made ShouldRollback false whatever the reward from then on.
        var optimizer = new DenseReptileOptimizer(2, new OptimizerConfig(), [0f, 0f]);
        Assert.Throws<InvalidInputException>(() => optimizer.Apply([1f, 1f], double.NaN, default));
        for (var i = 0; i < 5; i++) optimizer.Apply([1f, 1f], 1.0, default);
        Assert.True(optimizer.ShouldRollback(-5.0), $"reward EMA {optimizer.RewardEma}: a fall from about 1 to -5 rolls back");
    }

    [Fact]
    public void An_update_rule_outside_the_enum_is_refused_naming_the_field()
    {
        var error = Assert.Throws<InvalidInputException>(() => new DenseReptileOptimizer(2, new OptimizerConfig(UpdateRule: (UpdateRule)7)));
        Assert.StartsWith("optimizer.update_rule:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_rollback_is_strict_at_rollback_delta()
    {
        // DESIGN §8 (the dense prior's optimizer state, §10): reward_ema - r > rollback_delta. ema_alpha 1: the EMA
        // after one step is the reward, exactly.
        var optimizer = new DenseReptileOptimizer(2, new OptimizerConfig(EmaAlpha: 1.0, RollbackDelta: 0.25), [0f, 0f]);
        optimizer.Apply([1f, 1f], 1.0, default);

        Assert.False(optimizer.ShouldRollback(0.75)); // a drop of exactly rollback_delta keeps the step
        Assert.True(optimizer.ShouldRollback(Math.BitDecrement(0.75))); // 1.0 - it is exact, just above 0.25
    }

    [Fact]
    public void A_restored_beta_outside_the_bounds_is_clamped_before_the_next_step_scales_it()
    {
        // A beta saved under other settings is clamped into [beta_init * beta_min_factor, beta_max] as a step would
        // clamp it: 0.9 -> 0.3; the next step under load then takes 0.3 * 0.8 = 0.24 (an unclamped 0.9 * 0.8 = 0.72
        // would be clamped to 0.3). 0.001 -> the floor 0.05.
        var optimizer = new DenseReptileOptimizer(2, new OptimizerConfig(), [0f, 0f]);
        optimizer.RestoreState(0.9, 0.25);
        Assert.Equal(0.3, optimizer.Beta, 12);
        Assert.Equal(0.25, optimizer.RewardEma);
        Assert.Equal(0.24, optimizer.BeginStep(new DrgFlags(VramHigh: true)).Beta, 12);

        var low = new DenseReptileOptimizer(2, new OptimizerConfig(), [0f, 0f]);
        low.RestoreState(0.001, 0.0);
        Assert.Equal(0.05, low.Beta, 12);
    }

    /// <summary>§8 (a): decay and growth both apply when their flags are both up, and the clamp comes once, after
    /// both: from the ceiling 0.3 x 0.8 x 1.1 = 0.264; from the floor 0.05 x 0.8 x 1.1 = 0.044, clamped to 0.05 (a
    /// clamp after the decay alone would give 0.055).</summary>
    [Fact]
    public void Decay_and_growth_together_are_clamped_once_after_both()
    {
        var optimizer = new DenseReptileOptimizer(2, new OptimizerConfig(), [0f, 0f]);
        optimizer.RestoreState(0.3, 0.0);
        Assert.Equal(0.264, optimizer.BeginStep(new DrgFlags(VramHigh: true, BandwidthFree: true)).Beta, 12);
        optimizer.CompleteStep(0.0);

        optimizer.RestoreState(0.05, 0.0);
        Assert.Equal(0.05, optimizer.BeginStep(new DrgFlags(LatencyHigh: true, BandwidthFree: true)).Beta, 12);
    }
}
