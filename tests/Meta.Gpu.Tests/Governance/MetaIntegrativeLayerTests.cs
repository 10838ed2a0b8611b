using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Tests.Support;
using static Meta.Gpu.Tests.Governance.GovernanceTestData;

namespace Meta.Gpu.Tests.Governance;

public sealed class MetaIntegrativeLayerTests
{
    [Fact]
    public void A_calm_reading_changes_nothing_and_is_steady()
    {
        using var layer = new MetaIntegrativeLayer();

        var result = layer.Update(Calm);

        Assert.Equal(1, result.PolicyUpdate.Rev);
        Assert.Equal(0, result.PolicyUpdate.ChangedMask);
        Assert.Equal("steady", result.PolicyUpdate.Reason);
        Assert.Equal(KnobVector.Initial, result.Knobs);
        Assert.Equal(0, result.Cooldowns.Pending);
        Assert.Equal(ResourceHintKind.None, result.ResourceProfileHint.Kind);
        Assert.Equal(0.3 * result.MetaScore, result.MetaScoreAvg, 12);
        Assert.Equal(JsonNode.Parse("""{"rev":1,"reason":"steady"}"""), result.PolicyUpdate.ToJson(), JsonNode.DeepEquals);
    }

    public static TheoryData<string, double> NonFiniteReadings() => new()
    {
        { "accept_rate", double.NaN },
        { "stability_avg", double.PositiveInfinity },
        { "rcl_contrast", double.NegativeInfinity },
        { "latency_ms", double.NaN },
        { "vram_util", double.PositiveInfinity },
        { "gain_p50", double.NaN },
        { "gain_prev", double.NaN },
        { "ci_width", double.PositiveInfinity },
        { "ci_width_target", double.NaN },
    };

    [Theory]
    [MemberData(nameof(NonFiniteReadings))]
    public void A_non_finite_reading_is_refused_naming_the_field_and_changes_nothing(string field, double value)
    {
        using var layer = new MetaIntegrativeLayer();
        var low = Calm with { AcceptRate = 0.01, LatencyMs = 500 };
        layer.Update(low);
        var ema = layer.State.RewardEma;
        var knobs = layer.State.Knobs;
        var cooldowns = Cycles(layer.State.Cooldowns);
        var bad = field switch
        {
            "accept_rate" => low with { AcceptRate = value },
            "stability_avg" => low with { StabilityAvg = value },
            "rcl_contrast" => low with { RclContrast = value },
            "latency_ms" => low with { LatencyMs = value },
            "vram_util" => low with { VramUtil = value },
            "gain_p50" => low with { GainP50 = value },
            "gain_prev" => low with { GainPrev = value },
            "ci_width" => low with { CiWidth = value },
            _ => low with { CiWidthTarget = value },
        };

        var error = Assert.Throws<InvalidInputException>(() => layer.Update(bad));

        Assert.StartsWith(field + ": ", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, layer.State.DecisionCount);
        Assert.Single(layer.State.History);
        Assert.Equal(ema, layer.State.RewardEma);
        Assert.Equal(knobs, layer.State.Knobs);
        Assert.Equal(cooldowns, Cycles(layer.State.Cooldowns));
    }

    private static int[] Cycles(CooldownVector cooldowns) => [.. Enum.GetValues<Knob>().Select(k => cooldowns[k])];

    [Fact]
    public void After_a_refused_reading_the_rollback_still_fires()
    {
        // One NaN in the reward's average used to stay there for good, and with it the rollback test never fired.
        using var layer = new MetaIntegrativeLayer();
        Assert.Throws<InvalidInputException>(() => layer.Update(Calm with { AcceptRate = double.NaN }));
        for (var i = 0; i < 20; i++) layer.Update(Calm with { AcceptRate = 0.9, StabilityAvg = 0.9 });
        var collapse = new TelemetrySnapshot { AcceptRate = 0, LatencyMs = 500, VramUtil = 1, OomFlag = true };

        var rolledBack = Enumerable.Range(0, 3).Any(_ => layer.Update(collapse).Rollback);

        Assert.True(rolledBack);
        Assert.True(double.IsFinite(layer.State.RewardEma));
    }

    [Fact]
    public void Ema_moves_by_alpha_towards_each_reward()
    {
        using var layer = new MetaIntegrativeLayer();

        var first = layer.Update(Calm);
        var second = layer.Update(Calm with { AcceptRate = 0.5 });

        Assert.Equal(0.3 * first.MetaScore, first.MetaScoreAvg, 12);
        Assert.Equal(0.7 * first.MetaScoreAvg + 0.3 * second.MetaScore, second.MetaScoreAvg, 12);
        Assert.Equal(second.MetaScoreAvg, layer.State.RewardEma);
    }

    [Fact]
    public void Exploration_raises_tau_then_gamma_when_accept_is_low_and_the_ema_does_not_rise()
    {
        using var layer = new MetaIntegrativeLayer();
        // Negative reward: the EMA falls from 0.
        var result = layer.Update(Calm with { AcceptRate = 0.01, StabilityAvg = 0.0, LatencyMs = 110 });

        Assert.True(result.MetaScoreAvg < 0);
        Assert.Equal(1.0, result.Knobs.Tau);
        Assert.Equal(0.35, result.Knobs.GammaDiversity);
        Assert.Equal(5, result.Cooldowns[Knob.Tau]);
        Assert.Equal(5, result.Cooldowns[Knob.GammaDiversity]);
        Assert.Equal(JsonNode.Parse("""{"rev":1,"controller":{"tau":1.0,"gamma_diversity":0.35},"reason":"low_accept"}"""),
            result.PolicyUpdate.ToJson(), JsonNode.DeepEquals);
    }

    [Fact]
    public void Exploration_does_not_fire_while_the_ema_rises_but_low_accept_is_still_reported()
    {
        using var layer = new MetaIntegrativeLayer();
        // D1: positive reward from an EMA of 0 -> the EMA rises -> no exploration.
        var result = layer.Update(Calm with { AcceptRate = 0.01, StabilityAvg = 0.9 });

        Assert.True(result.MetaScoreAvg > 0);
        Assert.Equal(KnobVector.Initial, result.Knobs);
        Assert.Equal("low_accept", result.PolicyUpdate.Reason);
        Assert.Equal(0, result.PolicyUpdate.ChangedMask);
    }

    [Fact]
    public void Exploitation_lowers_tau_when_stable_and_gaining()
    {
        using var layer = new MetaIntegrativeLayer();

        var noGain = layer.Update(Calm with { StabilityAvg = 0.9, GainP50 = 0.3 }); // gain_prev defaults to gain_p50
        var gain = layer.Update(Calm with { StabilityAvg = 0.9, GainP50 = 0.3, GainPrev = 0.2 });

        Assert.Equal(0.9, noGain.Knobs.Tau);
        Assert.Equal(0.8, gain.Knobs.Tau);
        Assert.True(gain.PolicyUpdate.Announces(Knob.Tau));
        Assert.Equal("steady", gain.PolicyUpdate.Reason);
    }

    [Fact]
    public void Exploitation_works_on_the_value_exploration_left_and_the_update_carries_the_last_value_written()
    {
        using var layer = new MetaIntegrativeLayer();
        var result = layer.Update(new TelemetrySnapshot
        {
            AcceptRate = 0.01, StabilityAvg = 0.9, LatencyMs = 119, VramUtil = 0.8, GainP50 = 0.3, GainPrev = 0.2,
        });

        Assert.True(result.MetaScore < 0);
        Assert.Equal(0.9, result.Knobs.Tau); // 0.9 + 0.1 - 0.1
        Assert.Equal(0.35, result.Knobs.GammaDiversity);
        Assert.Equal(0.9, result.PolicyUpdate.ValueOf(Knob.Tau));
        Assert.True(result.PolicyUpdate.Announces(Knob.Tau));
        Assert.Equal(5, result.Cooldowns[Knob.Tau]);
    }

    [Fact]
    public void A_step_at_a_bound_is_no_change_and_starts_no_cooldown()
    {
        var config = new IntegrativeMetaConfig { ControllerPolicy = new ControllerPolicyConfig { TauBounds = new(0.5, 0.9) } };
        using var layer = new MetaIntegrativeLayer(config);

        var result = layer.Update(Calm with { AcceptRate = 0.01, StabilityAvg = 0.0, LatencyMs = 110 });

        Assert.Equal(0.9, result.Knobs.Tau);
        Assert.False(result.PolicyUpdate.Announces(Knob.Tau));
        Assert.Equal(0, result.Cooldowns[Knob.Tau]);
        Assert.True(result.PolicyUpdate.Announces(Knob.GammaDiversity));
    }

    [Fact]
    public void Knob_steps_land_on_the_decimal_grid_D8()
    {
        using var layer = new MetaIntegrativeLayer(NoCooldown);
        var exploit = Calm with { StabilityAvg = 0.9, GainP50 = 0.3, GainPrev = 0.2 };

        var taus = new List<double>();
        for (var i = 0; i < 5; i++) taus.Add(layer.Update(exploit).Knobs.Tau);

        // 0.8 - 0.1 is 0.7000000000000001 in binary; the grid makes it 0.7. At the bound 0.5 a further step is no change.
        Assert.Equal([0.8, 0.7, 0.6, 0.5, 0.5], taus);
        var atBound = layer.Update(exploit);
        Assert.False(atBound.PolicyUpdate.Announces(Knob.Tau));
    }

    [Theory]
    // 0.9 + 5e-11 is exactly 0.90000000005000000263..., nearer 0.9000000001 than 0.9: Math.Round(x, 10) said 0.9,
    // so the step was no change and was lost. 0.9 + 7.5e-10 is 0.90000000074999997..., nearer 0.9000000007.
    [InlineData(5e-11, 0.9000000001)]
    [InlineData(7.5e-10, 0.9000000007)]
    public void A_knob_step_rounds_to_the_grid_point_nearest_its_value_D8(double tauStep, double expected)
    {
        var config = new IntegrativeMetaConfig { ControllerPolicy = new ControllerPolicyConfig { TauStep = tauStep } };
        using var layer = new MetaIntegrativeLayer(config);

        var result = layer.Update(Calm with { AcceptRate = 0.01 });

        Assert.Equal(expected, result.Knobs.Tau);
        Assert.True(result.PolicyUpdate.Announces(Knob.Tau));
        Assert.Equal(expected, result.PolicyUpdate.ValueOf(Knob.Tau));
        Assert.Equal(5, result.Cooldowns[Knob.Tau]);
    }

    [Fact]
    public void Evaluator_lowers_g_min_after_enough_very_low_windows()
    {
        using var layer = new MetaIntegrativeLayer();

        var four = layer.Update(Calm with { AcceptRate = 0.02, AcceptLowWindows = 4 });
        var five = layer.Update(Calm with { AcceptRate = 0.02, AcceptLowWindows = 5 });

        Assert.Equal(0.01, four.Knobs.GMin);
        Assert.Equal(0.008, five.Knobs.GMin);
        Assert.Equal(JsonNode.Parse("""{"g_min":0.008}"""), five.PolicyUpdate.ToJson()["evaluator"], JsonNode.DeepEquals);
    }

    [Fact]
    public void Evaluator_lowers_lambda_ci_when_the_interval_is_wider_than_its_target()
    {
        using var layer = new MetaIntegrativeLayer();

        var atTarget = layer.Update(Calm with { CiWidth = 0.1 });
        var wider = layer.Update(Calm with { CiWidth = 0.2 });

        Assert.Equal(0.5, atTarget.Knobs.LambdaCi);
        Assert.Equal(0.45, wider.Knobs.LambdaCi);
    }

    [Fact]
    public void Cooldowns_tick_down_once_per_call_and_a_knob_steps_again_only_at_zero()
    {
        using var layer = new MetaIntegrativeLayer();
        var wide = Calm with { CiWidth = 0.3 };

        var lambdas = new List<double>();
        var cooldowns = new List<int>();
        for (var i = 0; i < 7; i++)
        {
            var result = layer.Update(wide);
            lambdas.Add(result.Knobs.LambdaCi);
            cooldowns.Add(result.Cooldowns[Knob.LambdaCi]);
        }

        Assert.Equal([0.45, 0.45, 0.45, 0.45, 0.45, 0.4, 0.4], lambdas);
        Assert.Equal([5, 4, 3, 2, 1, 5, 4], cooldowns);
    }

    [Fact]
    public void Under_load_tier3_is_shed_first_then_tier2_and_both_come_back_when_the_load_is_gone()
    {
        using var layer = new MetaIntegrativeLayer(new IntegrativeMetaConfig { Safety = new SafetyConfig { CooldownCycles = 1 } });
        var latency = Calm with { LatencyMs = 130 };
        var memory = Calm with { VramUtil = 0.9 };

        var first = layer.Update(latency);
        var second = layer.Update(memory);
        var third = layer.Update(Calm);

        Assert.Equal(0, first.Knobs.Tier3TopK);
        Assert.True(first.Knobs.Tier2Enabled);
        Assert.Equal("latency_high", first.PolicyUpdate.Reason);
        Assert.Equal(JsonNode.Parse("""{"tier3_topk":0}"""), first.PolicyUpdate.ToJson()["operators"], JsonNode.DeepEquals);
        Assert.False(second.Knobs.Tier2Enabled);
        Assert.Equal("latency_high", second.PolicyUpdate.Reason); // vram above vram_high is load too
        Assert.Equal(JsonNode.Parse("""{"tier2":"off"}"""), second.PolicyUpdate.ToJson()["operators"], JsonNode.DeepEquals);
        Assert.True(third.Knobs.Tier2Enabled);
        Assert.Equal(5, third.Knobs.Tier3TopK);
        Assert.Equal(JsonNode.Parse("""{"tier3_topk":5,"tier2":"on"}"""), third.PolicyUpdate.ToJson()["operators"], JsonNode.DeepEquals);
    }

    [Fact]
    public void Under_load_a_tier3_on_cooldown_passes_the_turn_to_tier2()
    {
        using var layer = new MetaIntegrativeLayer(new IntegrativeMetaConfig { Safety = new SafetyConfig { CooldownCycles = 2 } });
        var load = Calm with { LatencyMs = 130 };

        layer.Update(load); // tier3 -> 0, cooldown 2
        layer.Update(Calm); // tier3 still cooling down: stays 0
        var restored = layer.Update(Calm); // tier3 -> 5, cooldown 2
        var loadAgain = layer.Update(load); // tier3 > 0 but cooling down: tier2 goes off instead

        Assert.Equal(5, restored.Knobs.Tier3TopK);
        Assert.Equal(5, loadAgain.Knobs.Tier3TopK);
        Assert.False(loadAgain.Knobs.Tier2Enabled);
        Assert.Equal(Knob.Tier2Enabled.Bit(), loadAgain.PolicyUpdate.ChangedMask);
    }

    [Fact]
    public void Under_load_with_both_tiers_cooling_down_nothing_changes()
    {
        using var layer = new MetaIntegrativeLayer();
        var load = Calm with { LatencyMs = 130 };

        layer.Update(load); // tier3 -> 0, cooldown 5
        var second = layer.Update(load);
        var third = layer.Update(load);

        Assert.False(second.Knobs.Tier2Enabled);
        Assert.Equal(0, third.PolicyUpdate.ChangedMask);
        Assert.Equal("latency_high", third.PolicyUpdate.Reason);
        Assert.Equal(4, third.Cooldowns[Knob.Tier2Enabled]);
        Assert.Equal(3, third.Cooldowns[Knob.Tier3TopK]);
    }

    [Fact]
    public void Reason_lists_the_tags_in_order()
    {
        using var layer = new MetaIntegrativeLayer();

        var result = layer.Update(Calm with { AcceptRate = 0.01, LatencyMs = 200, OomFlag = true });

        Assert.Equal("low_accept + latency_high + oom", result.PolicyUpdate.Reason);
    }

    [Fact]
    public void Resource_hint_shrinks_on_high_memory_or_oom_and_grows_when_comfortable()
    {
        using var layer = new MetaIntegrativeLayer();

        var shrink = layer.Update(Calm with { VramUtil = 0.9 });
        var oom = layer.Update(Calm with { OomFlag = true });
        var grow = layer.Update(Calm with { VramUtil = 0.4, LatencyMs = 50, ResamplesDefault = 7 });
        var slow = layer.Update(Calm with { VramUtil = 0.4, LatencyMs = 100 });

        Assert.Equal(JsonNode.Parse("""{"n_paths_delta":-0.15,"sketch_dim_target":512}"""), shrink.ResourceProfileHint.ToJson(), JsonNode.DeepEquals);
        Assert.Equal(ResourceHintKind.Shrink, oom.ResourceProfileHint.Kind);
        Assert.Equal(JsonNode.Parse("""{"n_paths_delta":0.1,"resamples_target":9}"""), grow.ResourceProfileHint.ToJson(), JsonNode.DeepEquals);
        Assert.Equal(JsonNode.Parse("{}"), slow.ResourceProfileHint.ToJson(), JsonNode.DeepEquals);
    }

    /// <summary>Three calls with the EMA equal to the reward: a good one, one that lowers lambda_ci, then a drop
    /// of the reward by more than rollback_delta that also explores and lowers g_min.</summary>
    private static (MetaUpdateResult First, MetaUpdateResult Second, MetaUpdateResult Third, MetaIntegrativeLayer Layer) RollbackScenario()
    {
        var layer = new MetaIntegrativeLayer(EmaIsReward);
        var good = new TelemetrySnapshot { AcceptRate = 0.6, StabilityAvg = 0.6, VramUtil = 0.6 };
        var first = layer.Update(good);
        var second = layer.Update(good with { CiWidth = 0.2 });
        var third = layer.Update(new TelemetrySnapshot { AcceptRate = 0.02, AcceptLowWindows = 5, VramUtil = 0.6 });
        return (first, second, third, layer);
    }

    [Fact]
    public void Rollback_restores_the_knobs_the_previous_call_started_with()
    {
        var (first, second, third, layer) = RollbackScenario();
        using var _ = layer;

        Assert.False(first.Rollback);
        Assert.Equal(0.45, second.Knobs.LambdaCi);
        Assert.True(third.Rollback);
        Assert.Equal(KnobVector.Initial, third.Knobs); // undoes this call and the previous one
        Assert.Equal(1, third.RollbackCount);
        Assert.Equal(third.MetaScore, third.MetaScoreAvg); // the EMA is kept
        Assert.Equal(2.0 / 3.0, third.MetaSuccessRate, 12);
    }

    [Fact]
    public void Rollback_puts_changed_and_restored_knobs_on_double_cooldown_D2()
    {
        var (_, _, third, layer) = RollbackScenario();
        using var _layer = layer;

        Assert.Equal(10, third.Cooldowns[Knob.Tau]); // explored this call, then restored
        Assert.Equal(10, third.Cooldowns[Knob.GammaDiversity]);
        Assert.Equal(10, third.Cooldowns[Knob.GMin]); // lowered this call, then restored
        Assert.Equal(10, third.Cooldowns[Knob.LambdaCi]); // only the restore changed it
        Assert.Equal(0, third.Cooldowns[Knob.Tier2Enabled]);
        Assert.Equal(0, third.Cooldowns[Knob.Tier3TopK]);
        Assert.Equal(4, third.Telemetry.PolicyChangesPending);
    }

    [Fact]
    public void Rolled_back_update_announces_the_restored_values_D7()
    {
        var (_, second, third, layer) = RollbackScenario();
        using var _ = layer;

        // Only lambda_ci differs from the start of this call; tau, gamma and g_min were changed and restored.
        Assert.Equal(JsonNode.Parse("""{"rev":3,"evaluator":{"lambda_ci":0.5},"reason":"low_accept + rollback"}"""),
            third.PolicyUpdate.ToJson(), JsonNode.DeepEquals);
        Assert.Equal(3, layer.State.DecisionCount);
        Assert.Equal(2, second.PolicyUpdate.Rev);
    }

    [Fact]
    public void Rollback_tag_replaces_steady()
    {
        using var layer = new MetaIntegrativeLayer(EmaIsReward);
        layer.Update(new TelemetrySnapshot { AcceptRate = 0.9, StabilityAvg = 0.9, VramUtil = 0.6 });

        var drop = layer.Update(new TelemetrySnapshot { AcceptRate = 0.1, VramUtil = 0.6 });

        Assert.True(drop.Rollback);
        Assert.Equal("rollback", drop.PolicyUpdate.Reason);
    }

    [Fact]
    public void No_rollback_on_the_first_call_however_low_the_reward()
    {
        using var layer = new MetaIntegrativeLayer(EmaIsReward);

        var result = layer.Update(new TelemetrySnapshot { LatencyMs = 500, VramUtil = 1, OomFlag = true });

        Assert.False(result.Rollback);
        Assert.Equal(1.0, result.MetaSuccessRate);
    }

    [Fact]
    public void History_keeps_the_newest_max_history_entries()
    {
        var config = new IntegrativeMetaConfig { Safety = new SafetyConfig { MaxHistory = 3 } };
        var clock = new FixedTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        using var layer = new MetaIntegrativeLayer(config, new MetaIntegrativeLayerOptions { TimeProvider = clock });

        for (var i = 0; i < 5; i++)
        {
            clock.Now = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000 + i);
            layer.Update(Calm with { AcceptRate = 0.1 * i });
        }

        var history = layer.State.History;
        Assert.Equal(3, history.Count);
        Assert.Equal([1_700_000_002.0, 1_700_000_003.0, 1_700_000_004.0], history.Select(e => e.Timestamp).ToArray());
        Assert.Equal([3L, 4L, 5L], history.Select(e => e.PolicyUpdate.Rev).ToArray());
    }

    [Fact]
    public void Policy_log_gets_one_json_line_per_call()
    {
        var log = new StringWriter();
        using var layer = new MetaIntegrativeLayer(null, new MetaIntegrativeLayerOptions { PolicyLog = log });

        layer.Update(Calm);
        layer.Update(Calm with { CiWidth = 0.3 });

        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        var second = JsonNode.Parse(lines[1])!.AsObject();
        Assert.Equal(["timestamp", "reward", "reward_avg", "policy_update", "knobs_before", "knobs_after", "resource_hint", "rollback"],
            second.Select(p => p.Key).ToArray());
        Assert.Equal(0.5, second["knobs_before"]!["lambda_ci"]!.GetValue<double>());
        Assert.Equal(0.45, second["knobs_after"]!["lambda_ci"]!.GetValue<double>());
        Assert.Equal(2, second["policy_update"]!["rev"]!.GetValue<int>());
    }


    [Fact]
    public void A_policy_log_that_cannot_be_written_fails_the_update_and_changes_nothing()
    {
        var log = new FullDiskWriter();
        using var layer = new MetaIntegrativeLayer(null, new MetaIntegrativeLayerOptions { PolicyLog = log });
        var low = Calm with { AcceptRate = 0.01, LatencyMs = 500 };

        Assert.Throws<IOException>(() => layer.Update(low));

        Assert.Equal(0, layer.State.DecisionCount);
        Assert.Equal(KnobVector.Initial, layer.State.Knobs);
        Assert.Equal(0, layer.State.Cooldowns.Pending);
        Assert.Equal(0.0, layer.State.RewardEma);
        Assert.Empty(layer.State.History);

        log.Full = false;
        var result = layer.Update(low);
        Assert.Equal(1, result.PolicyUpdate.Rev);
        Assert.NotEqual(0, result.PolicyUpdate.ChangedMask);
        Assert.Single(log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Policy_log_file_is_appended()
    {
        var path = Path.Combine(Path.GetTempPath(), $"policy-{Guid.NewGuid():N}.jsonl");
        try
        {
            using (var layer = new MetaIntegrativeLayer(null, new MetaIntegrativeLayerOptions { PolicyLogPath = path }))
                layer.Update(Calm);
            using (var layer = new MetaIntegrativeLayer(null, new MetaIntegrativeLayerOptions { PolicyLogPath = path }))
                layer.Update(Calm);

            Assert.Equal(2, File.ReadAllLines(path).Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Result_json_has_the_documented_fields_and_telemetry()
    {
        using var layer = new MetaIntegrativeLayer();
        var result = layer.Update(Calm with { CiWidth = 0.3 });

        var json = result.ToJson(layer.State.History);

        Assert.Equal(["meta_policy_update", "resource_profile_hint", "scoring", "meta_score", "meta_score_avg", "rollback", "knobs",
            "cooldowns", "meta_telemetry", "meta_event_log"], json.Select(p => p.Key).ToArray());
        var telemetry = json["meta_telemetry"]!;
        Assert.Equal(1, telemetry["meta_decision_count"]!.GetValue<long>());
        Assert.Equal(0.45, telemetry["lambda_ci"]!.GetValue<double>());
        Assert.Equal(80.0, telemetry["latency_ms"]!.GetValue<double>());
        Assert.Equal(0.6, telemetry["vram_util"]!.GetValue<double>());
        Assert.Equal(1, telemetry["policy_changes_pending"]!.GetValue<int>());
        Assert.Single(json["meta_event_log"]!.AsArray());
        Assert.True(json["knobs"]!["tier2_enabled"]!.GetValue<bool>());
        Assert.Equal(5, json["knobs"]!["tier3_topk"]!.GetValue<int>());
    }

    [Fact]
    public void An_invalid_configuration_built_in_code_is_refused()
    {
        var config = new IntegrativeMetaConfig { Safety = new SafetyConfig { MaxHistory = 0 } };

        var error = Assert.Throws<InvalidInputException>(() => new MetaIntegrativeLayer(config));

        Assert.Contains("safety.max_history", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_grow_hint_resamples_target_saturates_instead_of_wrapping()
    {
        var config = IntegrativeMetaConfig.FromJson(JsonNode.Parse("""{"drg_policy": {"resamples_increment": 2147483647}}""")!.AsObject());
        using var layer = new MetaIntegrativeLayer(config);
        var result = layer.Update(new TelemetrySnapshot { AcceptRate = 0.3, VramUtil = 0.1, LatencyMs = 10 });
        Assert.Equal(ResourceHintKind.Grow, result.ResourceProfileHint.Kind);
        Assert.Equal(int.MaxValue, result.ResourceProfileHint.ResamplesTarget);
    }

    [Fact]
    public void Finite_readings_whose_configured_reward_overflows_are_refused_and_change_nothing()
    {
        // Weights a configuration may set: accept 2 * 1e308 + contrast 2 * -1e308 is inf - inf (vram_util, a share,
        // can no longer be the other infinity: one outside [0, 1] is refused as such).
        var config = IntegrativeMetaConfig.FromJson(JsonNode.Parse("""{"meta_score": {"weights": {"accept": 2, "contrast": 2}}}""")!.AsObject());
        using var layer = new MetaIntegrativeLayer(config);
        var error = Assert.Throws<InvalidInputException>(() => layer.Update(new TelemetrySnapshot { AcceptRate = 1e308, RclContrast = -1e308 }));
        Assert.Contains("reward", error.Message, StringComparison.Ordinal);
        Assert.Equal(0.0, layer.State.RewardEma);
        Assert.Equal(0, layer.State.DecisionCount);
        layer.Update(Calm);
        Assert.True(double.IsFinite(layer.State.RewardEma));
    }
}
