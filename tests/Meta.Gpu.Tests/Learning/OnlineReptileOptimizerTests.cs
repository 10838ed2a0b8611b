using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

public sealed class OnlineReptileOptimizerTests
{
    [Fact]
    public void Interpolate_steps_toward_the_update_and_new_keys_adopt_it()
    {
        var optimizer = new OnlineReptileOptimizer(initialPrior: new Dictionary<string, double> { ["a"] = 1.0, ["keep"] = 7.0 });

        optimizer.Apply([3f, 5f], ["a", "b"], reward: 0.5);

        Assert.Equal(1.0 + 0.1 * (3.0 - 1.0), optimizer.Prior["a"], 12);
        Assert.Equal(5.0, optimizer.Prior["b"], 12);
        Assert.Equal(7.0, optimizer.Prior["keep"]); // D3: keys absent from the update keep their value.
        Assert.Equal(0.15, optimizer.RewardEma, 12);
    }

    [Fact]
    public void Delta_adds_beta_times_the_update_starting_new_keys_at_zero()
    {
        var optimizer = new OnlineReptileOptimizer(new OptimizerConfig(UpdateRule: UpdateRule.Delta));

        optimizer.Apply([2f], ["a"], 0.0);
        optimizer.Apply([2f], ["a"], 0.0);

        Assert.Equal(0.4, optimizer.Prior["a"], 6);
        // The backup was taken after the new key joined at 0.
        optimizer.Rollback();
        optimizer.Rollback();
        Assert.Equal(0.0, optimizer.Prior["a"]);
    }

    [Fact]
    public void Beta_decays_under_load_grows_with_free_bandwidth_and_is_clamped_once()
    {
        var optimizer = new OnlineReptileOptimizer();
        optimizer.Apply([1f], ["a"], 0, new DrgProfile(VramHigh: true, BandwidthFree: true));
        Assert.Equal(0.1 * 0.8 * 1.1, optimizer.Beta, 12);

        for (var i = 0; i < 20; i++) optimizer.Apply([1f], ["a"], 0, new DrgProfile(LatencyHigh: true));
        Assert.Equal(0.05, optimizer.Beta, 12);

        for (var i = 0; i < 40; i++) optimizer.Apply([1f], ["a"], 0, new DrgProfile(BandwidthFree: true));
        Assert.Equal(0.3, optimizer.Beta, 12);
    }

    [Fact]
    public void Rollback_walks_back_through_the_newest_backup_versions()
    {
        var optimizer = new OnlineReptileOptimizer(new OptimizerConfig(BackupVersions: 2, BetaInit: 0.5, BetaMax: 0.5));
        optimizer.Apply([2f], ["a"], 1.0); // prior a: 2 (adopted), backup {} 
        optimizer.Apply([4f], ["a"], 1.0); // a: 3, backup {a: 2}
        optimizer.Apply([5f], ["a"], 1.0); // a: 4, backup {a: 3}; {} dropped
        var beta = optimizer.Beta;
        var ema = optimizer.RewardEma;

        Assert.True(optimizer.Rollback());
        Assert.Equal(3.0, optimizer.Prior["a"]);
        Assert.True(optimizer.Rollback());
        Assert.Equal(2.0, optimizer.Prior["a"]);
        Assert.False(optimizer.Rollback());
        Assert.Equal(2.0, optimizer.Prior["a"]);
        Assert.Equal((beta, ema), (optimizer.Beta, optimizer.RewardEma));
    }

    [Fact]
    public void Should_rollback_compares_the_reward_with_the_ema()
    {
        var optimizer = new OnlineReptileOptimizer();
        optimizer.Apply([1f], ["a"], 1.0); // EMA 0.3
        Assert.True(optimizer.ShouldRollback(0.19));
        Assert.False(optimizer.ShouldRollback(0.2));
    }

    [Fact]
    public void Bad_updates_change_nothing()
    {
        var optimizer = new OnlineReptileOptimizer();
        optimizer.Apply([1f], ["a"], 1.0);
        var before = optimizer.PriorSnapshot();

        Assert.Throws<InvalidInputException>(() => optimizer.Apply([1f, 2f], ["a"], 1.0));
        Assert.Throws<InvalidInputException>(() => optimizer.Apply([float.NaN], ["a"], 1.0));
        Assert.Throws<InvalidInputException>(() => optimizer.Apply([1f], ["a"], double.NaN));
        var repeated = Assert.Throws<InvalidInputException>(() => optimizer.Apply([1f, 1f, 1f], ["b", "a", "b"], 1.0));
        Assert.Equal("optimizer update: key \"b\" is repeated (at 2)", repeated.Message);

        Assert.Equal(before, optimizer.PriorSnapshot());
        Assert.Equal(1, optimizer.BackupCount);
    }

    [Theory]
    [InlineData(UpdateRule.Interpolate)]
    [InlineData(UpdateRule.Delta)]
    public void A_null_key_is_refused_before_beta_the_backups_or_the_prior_move(UpdateRule rule)
    {
        var optimizer = new OnlineReptileOptimizer(OptimizerConfig.Default with { UpdateRule = rule });
        optimizer.Apply([1f], ["a"], 1.0);
        var before = optimizer.PriorSnapshot();
        var beta = optimizer.Beta;

        var error = Assert.Throws<InvalidInputException>(() =>
            optimizer.Apply([2f, 3f], ["a", null!], 1.0, new DrgProfile(VramHigh: true)));

        Assert.Contains("key 1 is null", error.Message);
        Assert.Equal(before, optimizer.PriorSnapshot());
        Assert.Equal(beta, optimizer.Beta);
        Assert.Equal(1, optimizer.BackupCount);
    }

    [Fact]
    public void Drg_flags_read_as_booleans_or_numbers()
    {
        var profile = DrgProfile.FromJson(System.Text.Json.Nodes.JsonNode.Parse("""{"vram_high": 1.0, "latency_high": false, "bandwidth_free": true}""")!.AsObject());
        Assert.Equal(new DrgProfile(VramHigh: true, LatencyHigh: false, BandwidthFree: true), profile);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void A_non_finite_initial_prior_value_is_refused_naming_its_key(double value)
    {
        // Every step interpolates from the prior value, so it stayed non-finite for good.
        var e = Assert.Throws<InvalidInputException>(() => new OnlineReptileOptimizer(initialPrior: new Dictionary<string, double> { ["tau"] = 1.0, ["kappa"] = value }));
        Assert.Contains("initial prior", e.Message, StringComparison.Ordinal);
        Assert.Contains("\"kappa\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rollback_makes_the_saved_copy_the_whole_prior_dropping_keys_the_step_added()
    {
        // DESIGN §8: "Rollback() pops the newest saved prior and makes it the prior": a key the rolled-back step
        // brought in (it adopted its value) is not in the saved copy, so it leaves the prior.
        var optimizer = new OnlineReptileOptimizer(initialPrior: new Dictionary<string, double> { ["a"] = 1.0 });
        optimizer.Apply([3f, 5f], ["a", "b"], reward: 0.0);
        Assert.Equal(["a", "b"], optimizer.Prior.Keys);

        Assert.True(optimizer.Rollback());

        Assert.Equal(new Dictionary<string, double> { ["a"] = 1.0 }, optimizer.PriorSnapshot());
    }

    [Fact]
    public void A_restored_beta_outside_the_bounds_is_clamped_before_the_next_step_scales_it()
    {
        // A beta saved under other settings is clamped into [beta_init * beta_min_factor, beta_max] as a step would
        // clamp it: 0.9 -> 0.3, and the next step under load takes 0.3 * 0.8 = 0.24 (0.9 * 0.8 = 0.72 -> 0.3
        // unclamped); 0.001 -> the floor 0.05.
        var optimizer = new OnlineReptileOptimizer();
        optimizer.RestoreState(0.9, 0.25);
        Assert.Equal(0.3, optimizer.Beta, 12);
        Assert.Equal(0.25, optimizer.RewardEma);
        optimizer.Apply([1f], ["a"], 0.25, new DrgProfile(VramHigh: true));
        Assert.Equal(0.24, optimizer.Beta, 12);

        var low = new OnlineReptileOptimizer();
        low.RestoreState(0.001, 0.0);
        Assert.Equal(0.05, low.Beta, 12);
    }
}
