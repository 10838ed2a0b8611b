using System.Text.Json.Nodes;
using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// <c>backup_versions</c>, the rollback copies of the keyed prior (DESIGN §8): "(c) push a copy of the prior onto the
/// history (the newest backup_versions kept)" and "Rollback() pops the newest saved prior and makes it the prior
/// (repeated rollbacks go further back; no history: the prior stays); beta and the EMA are unchanged."
/// The reference traces never roll back past more than a couple of copies (any backup_versions from 2 up leaves
/// them passing), so the bound is pinned here.
/// </summary>
/// <remarks>With beta_init = beta_max = 1 an interpolating step makes the prior the update itself
/// (p + 1 * (v - p) = v, exact for small integers), so every saved copy is the previous update.</remarks>
public sealed class OptimizerBackupVersionsTests
{
    private static OnlineReptileOptimizer WholeSteps(int backupVersions) =>
        new(new OptimizerConfig(BetaInit: 1.0, BetaMax: 1.0, BackupVersions: backupVersions));

    private static void StepThrough(OnlineReptileOptimizer optimizer, params float[] values)
    {
        foreach (var value in values) optimizer.Apply([value], ["a"], 0.0);
    }

    [Fact]
    public void Exactly_backup_versions_previous_priors_are_kept_and_a_rollback_past_them_keeps_the_oldest()
    {
        // Five steps to 1..5: the copies pushed are {}, {a: 1}, {a: 2}, {a: 3}, {a: 4}; the newest 3 stay.
        var optimizer = WholeSteps(3);
        StepThrough(optimizer, 1, 2, 3, 4, 5);
        Assert.Equal(5.0, optimizer.Prior["a"]);
        Assert.Equal(3, optimizer.BackupCount);

        Assert.True(optimizer.Rollback());
        Assert.Equal(4.0, optimizer.Prior["a"]);
        Assert.True(optimizer.Rollback());
        Assert.Equal(3.0, optimizer.Prior["a"]);
        Assert.True(optimizer.Rollback());
        Assert.Equal(2.0, optimizer.Prior["a"]);

        // The fourth rollback reaches past the kept copies ({a: 1} was dropped): the prior stays.
        Assert.False(optimizer.Rollback());
        Assert.Equal(2.0, optimizer.Prior["a"]);
        Assert.Equal(0, optimizer.BackupCount);
    }

    [Fact]
    public void By_default_the_newest_ten_previous_priors_are_kept()
    {
        // DESIGN §8: "backup_versions 10". Twelve steps to 1..12 push {}, {a: 1}, ..., {a: 11}: the newest ten,
        // {a: 2} to {a: 11}, stay, and ten rollbacks walk back to 2; an eleventh finds nothing.
        var optimizer = new OnlineReptileOptimizer(new OptimizerConfig(BetaInit: 1.0, BetaMax: 1.0));
        StepThrough(optimizer, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
        Assert.Equal(10, optimizer.BackupCount);

        for (var expected = 11; expected >= 2; expected--)
        {
            Assert.True(optimizer.Rollback());
            Assert.Equal(expected, optimizer.Prior["a"]);
        }
        Assert.False(optimizer.Rollback());
        Assert.Equal(2.0, optimizer.Prior["a"]);
    }

    [Fact]
    public void The_history_grows_one_copy_per_step_up_to_backup_versions_and_no_further()
    {
        var optimizer = WholeSteps(3);
        var counts = new List<int>();
        for (var step = 1; step <= 6; step++)
        {
            optimizer.Apply([step], ["a"], 0.0);
            counts.Add(optimizer.BackupCount);
        }

        Assert.Equal([1, 2, 3, 3, 3, 3], counts);
    }

    [Fact]
    public void A_rollback_frees_a_slot_that_the_next_step_fills()
    {
        // Steps to 1, 2, 3 keep {}, {a: 1}, {a: 2} -> with 2 kept: {a: 1}, {a: 2}. A rollback to 2 leaves {a: 1};
        // the step to 7 pushes {a: 2}: rollbacks then give 2, then 1, then nothing more.
        var optimizer = WholeSteps(2);
        StepThrough(optimizer, 1, 2, 3);
        Assert.True(optimizer.Rollback());
        Assert.Equal(2.0, optimizer.Prior["a"]);

        StepThrough(optimizer, 7);
        Assert.Equal(2, optimizer.BackupCount);

        Assert.True(optimizer.Rollback());
        Assert.Equal(2.0, optimizer.Prior["a"]);
        Assert.True(optimizer.Rollback());
        Assert.Equal(1.0, optimizer.Prior["a"]);
        Assert.False(optimizer.Rollback());
        Assert.Equal(1.0, optimizer.Prior["a"]);
    }

    [Fact]
    public void With_backup_versions_zero_nothing_is_saved_and_a_rollback_leaves_prior_beta_and_ema_as_they_are()
    {
        var optimizer = WholeSteps(0);
        StepThrough(optimizer, 1, 2);
        var beta = optimizer.Beta;
        var ema = optimizer.RewardEma;

        Assert.Equal(0, optimizer.BackupCount);
        Assert.False(optimizer.Rollback());
        Assert.Equal(2.0, optimizer.Prior["a"]);
        Assert.Equal((beta, ema), (optimizer.Beta, optimizer.RewardEma));
    }

    [Fact]
    public void A_single_backup_version_rolls_back_one_step_only()
    {
        var optimizer = WholeSteps(1);
        StepThrough(optimizer, 1, 2, 3);

        Assert.True(optimizer.Rollback());
        Assert.Equal(2.0, optimizer.Prior["a"]);
        Assert.False(optimizer.Rollback());
        Assert.Equal(2.0, optimizer.Prior["a"]);
    }

    [Fact]
    public void Backup_versions_read_from_the_optimizer_section_bounds_the_history()
    {
        var config = new OptimizerConfig(BetaInit: 1.0, BetaMax: 1.0).With(JsonNode.Parse("""{"backup_versions": 2}""")!.AsObject());
        var optimizer = new OnlineReptileOptimizer(config);
        StepThrough(optimizer, 1, 2, 3, 4);

        Assert.Equal(2, optimizer.BackupCount);
        optimizer.Rollback();
        optimizer.Rollback();
        Assert.Equal(2.0, optimizer.Prior["a"]);
    }
}
