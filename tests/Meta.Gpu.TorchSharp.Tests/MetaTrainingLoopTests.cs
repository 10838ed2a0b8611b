using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

public sealed class MetaTrainingLoopTests
{
    private sealed record Domain(string Id, float[] Adapted, double Confidence, double LossAfter = 0.5);

    private static nn.Module<Tensor, Tensor> Model()
    {
        manual_seed(11);
        return nn.Linear(2, 1);
    }

    /// <summary>An inner loop that "adapts" by writing the domain's scripted parameters, and records the
    /// parameters it started from.</summary>
    private static Func<Domain, DomainOutcome> Inner(ParameterVector vector, List<float[]> startedFrom) => domain =>
    {
        var start = new float[vector.Length];
        vector.CopyTo(start);
        startedFrom.Add(start);
        vector.CopyFrom(domain.Adapted);
        return new DomainOutcome(domain.Id, 1.0, domain.LossAfter, domain.Confidence);
    };

    private static float[] Current(ParameterVector vector)
    {
        var values = new float[vector.Length];
        vector.CopyTo(values);
        return values;
    }

    [Fact]
    public async Task A_round_adapts_each_domain_from_the_prior_and_takes_a_confidence_weighted_reptile_step()
    {
        using var model = Model();
        using var probe = new ParameterVector(model);
        var prior0 = Current(probe);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep()) { StepSize = () => 0.25 };
        var domains = new[]
        {
            new Domain("a", [1, 2, 3], 0.5),
            new Domain("b", [3, 2, 1], 1.0),
            new Domain("c", [100, 100, 100], 0.01), // below min_confidence: left out
        };
        var started = new List<float[]>();

        var result = await loop.RunRoundAsync(domains, Inner(probe, started));

        Assert.All(started, s => Assert.Equal(prior0, s));
        var expected = new float[3];
        for (var d = 0; d < 3; d++)
        {
            var mean = (0.5 * domains[0].Adapted[d] + 1.0 * domains[1].Adapted[d]) / 1.5;
            expected[d] = (float)(prior0[d] + 0.25 * (mean - prior0[d]));
        }
        Assert.Equal(expected, loop.Prior.ToArray());
        Assert.Equal(expected, Current(probe)); // the prior is written back into the module
        Assert.Equal(2, result.Step.Participants);
        Assert.Equal(0.25, result.Beta);
        Assert.Equal(1, result.Round);
        Assert.Equal(0.5, result.GainMedian, 12);
    }

    [Fact]
    public async Task An_outcomes_own_metrics_join_its_policy_pack_and_replace_the_loops_figure_of_the_same_name()
    {
        using var model = Model();
        using var probe = new ParameterVector(model);
        var bus = new ScriptedBus();
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        var domain = new Domain("d1", [1, 1, 1], 0.8, 0.25);

        await loop.RunRoundAsync([domain], d =>
        {
            probe.CopyFrom(d.Adapted);
            return new DomainOutcome(d.Id, 1.0, d.LossAfter, d.Confidence,
                new Dictionary<string, double> { ["meta_score"] = -0.5, ["accuracy"] = 0.9, ["perplexity"] = double.NaN });
        });

        var metrics = BusPayload.AsObject(bus.Published[0].Payload, "federation.policy_pack")["metrics"]!.AsObject();
        Assert.Equal(-0.5, (double)metrics["meta_score"]!, 12); // the loop's own would be 0.75
        Assert.Equal(0.9, (double)metrics["accuracy"]!, 12);
        Assert.False(metrics.ContainsKey("perplexity"));
        Assert.Equal(0.25, (double)metrics["loss_after"]!, 12);
    }

    [Fact]
    public async Task Each_round_publishes_policy_packs_then_processing_metrics_and_waits_for_governance()
    {
        using var model = Model();
        using var probe = new ParameterVector(model);
        var bus = new ScriptedBus();
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        var domains = new[] { new Domain("d1", [1, 1, 1], 0.8, 0.25), new Domain("d0", [0, 0, 0], 0.6, 0.75) };

        var result = await loop.RunRoundAsync(domains, Inner(probe, []));

        Assert.Equal(["federation.policy_pack", "federation.policy_pack", "processing_metrics"], bus.Published.Select(e => e.Topic));
        Assert.Equal(1, bus.IdleWaits);
        var pack = BusPayload.AsObject(bus.Published[0].Payload, "federation.policy_pack");
        Assert.Equal("d1", (string?)pack["domain_id"]);
        Assert.Equal(0.9, (double)pack["controller"]!["tau"]!);
        Assert.Equal(0.3, (double)pack["controller"]!["gamma_diversity"]!);
        Assert.Equal(0.01, (double)pack["evaluator"]!["g_min"]!);
        Assert.Equal(0.5, (double)pack["evaluator"]!["lambda_ci"]!);
        Assert.Equal(0.75, (double)pack["metrics"]!["meta_score"]!, 12);
        Assert.Equal(0.8, (double)pack["metrics"]!["stability_avg"]!, 12);
        Assert.Equal(0.25, (double)pack["metrics"]!["loss_after"]!, 12);

        var processing = BusPayload.AsObject(bus.Published[2].Payload, "processing_metrics");
        Assert.Equal(1.0, (double)processing["accept_rate"]!);
        Assert.Equal(0.5, (double)processing["gain_p50"]!, 12);
        Assert.Equal(0.7, (double)processing["stability_avg"]!, 12);
        Assert.Equal(2, (int)processing["participants"]!);
        Assert.Equal(1, (int)processing["round"]!);
        Assert.Equal(0.5, (double)processing["meta_score"]!, 12); // the median gain
        Assert.Equal(result.OuterStepMs, (double)processing["engine_latency_ms"]!, 12);
        Assert.NotNull(processing["bandwidth_free"]);
    }

    [Fact]
    public async Task The_supervisors_knobs_apply_from_the_next_round()
    {
        using var model = Model();
        using var probe = new ParameterVector(model);
        var bus = new ScriptedBus();
        bus.ReplyOnce("processing_metrics", ("meta_policy_update", new JsonObject
        {
            ["rev"] = 1,
            ["controller"] = new JsonObject { ["tau"] = 1.0 },
            ["evaluator"] = new JsonObject { ["g_min"] = 0.6 },
            ["reason"] = "low_accept",
        }));
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        var domains = new[] { new Domain("d0", [1, 1, 1], 0.8) }; // gain 0.5 every round

        var first = await loop.RunRoundAsync(domains, Inner(probe, []));
        var second = await loop.RunRoundAsync(domains, Inner(probe, []));

        Assert.Equal(1.0, first.AcceptRate);  // 0.5 >= g_min 0.01
        Assert.Equal(0.0, second.AcceptRate); // 0.5 <  g_min 0.6
        Assert.Equal(0.6, loop.Knobs["g_min"]);
        Assert.Equal(1.0, loop.Knobs["tau"]);
        var packs = bus.Published.Where(e => e.Topic == "federation.policy_pack")
            .Select(e => BusPayload.AsObject(e.Payload, e.Topic)).ToArray();
        Assert.Equal(0.01, (double)packs[0]["evaluator"]!["g_min"]!);
        Assert.Equal(0.6, (double)packs[1]["evaluator"]!["g_min"]!);
        Assert.Equal(1.0, (double)packs[1]["controller"]!["tau"]!);
    }

    [Fact]
    public async Task A_rollback_from_the_agent_restores_the_prior_from_before_the_last_step()
    {
        using var model = Model();
        using var probe = new ParameterVector(model);
        var prior0 = Current(probe);
        var bus = new ScriptedBus();
        bus.ReplyOnce("processing_metrics", ("meta_rollback_active", new JsonObject { ["source"] = "optimizer", ["reward"] = 0.1 }));
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        var domains = new[] { new Domain("d0", [5, 5, 5], 1.0) };
        var started = new List<float[]>();

        var first = await loop.RunRoundAsync(domains, Inner(probe, started));
        Assert.NotEqual(prior0, loop.Prior.ToArray());
        var second = await loop.RunRoundAsync(domains, Inner(probe, started));

        Assert.False(first.RolledBack);
        Assert.True(second.RolledBack);
        Assert.Equal(1, loop.Rollbacks);
        Assert.Equal(prior0, started[1]); // round 2 adapted from the restored prior
    }

    [Fact]
    public async Task A_rollback_applied_before_a_round_that_fails_is_reported_by_the_next_round()
    {
        using var model = Model();
        using var probe = new ParameterVector(model);
        var prior0 = Current(probe);
        var bus = new ScriptedBus();
        bus.ReplyOnce("processing_metrics", ("meta_rollback_active", new JsonObject { ["source"] = "optimizer", ["reward"] = 0.1 }));
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        var domains = new[] { new Domain("d0", [5, 5, 5], 1.0) };
        var started = new List<float[]>();

        Assert.False((await loop.RunRoundAsync(domains, Inner(probe, started))).RolledBack);
        // The rollback is applied as round 2 begins; round 2's inner loop then fails.
        await Assert.ThrowsAsync<InvalidOperationException>(() => loop.RunRoundAsync<Domain>(domains, _ => throw new InvalidOperationException("domain lost")));
        Assert.Equal(prior0, loop.Prior.ToArray());
        var third = await loop.RunRoundAsync(domains, Inner(probe, started));

        Assert.True(third.RolledBack); // no result said so before
        Assert.Equal(1, loop.Rollbacks);
    }

    [Fact]
    public async Task A_failing_inner_loop_leaves_prior_and_module_as_they_were()
    {
        using var model = Model();
        using var probe = new ParameterVector(model);
        var prior0 = Current(probe);
        var bus = new ScriptedBus();
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        var calls = 0;

        await Assert.ThrowsAsync<InvalidOperationException>(() => loop.RunRoundAsync(new[] { "a", "b" }, id =>
        {
            probe.CopyFrom(new float[] { 9, 9, 9 });
            if (++calls == 2) throw new InvalidOperationException("diverged");
            return new DomainOutcome(id, 1, 0.5, 1);
        }));

        Assert.Equal(prior0, loop.Prior.ToArray());
        Assert.Equal(prior0, Current(probe));
        Assert.Equal(0, loop.Round);
        Assert.Empty(bus.Published);
    }

    /// <summary>The weighted-mean step, or (while <see cref="Fail"/> is set) a step that writes part of the prior and
    /// then fails, as a device lost mid-step would.</summary>
    private sealed class FlakyOuterStep : IOuterStep
    {
        private readonly WeightedMeanReptileStep _inner = new();

        public bool Fail { get; set; }

        public string Backend => "flaky";

        public OuterStepResult Step(Meta.Gpu.Compute.DomainBatch batch, Span<float> prior, double beta)
        {
            if (!Fail) return _inner.Step(batch, prior, beta);
            prior[0] = 1e6f;
            throw new InvalidOperationException("device lost");
        }

        public void Dispose() => _inner.Dispose();
    }

    [Fact]
    public async Task A_failing_outer_step_leaves_prior_and_module_as_the_round_found_them()
    {
        using var model = Model();
        using var probe = new ParameterVector(model);
        using var step = new FlakyOuterStep();
        using var loop = new MetaTrainingLoop(model, step) { StepSize = () => 0.25 };
        var domains = new[] { new Domain("d0", [5, 5, 5], 1.0), new Domain("d1", [1, 2, 3], 1.0) };
        var started = new List<float[]>();
        await loop.RunRoundAsync(domains, Inner(probe, started));
        var prior1 = loop.Prior.ToArray();

        step.Fail = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => loop.RunRoundAsync(domains, Inner(probe, started)));

        // The module used to keep the last domain's adapted weights, and the prior the step's partial write.
        Assert.Equal(prior1, loop.Prior.ToArray());
        Assert.Equal(prior1, Current(probe));
        Assert.Equal(1, loop.Round);

        step.Fail = false;
        await loop.RunRoundAsync(domains, Inner(probe, started));
        Assert.Equal(prior1, started[^1]); // the next round adapts from the prior the failed one left alone
        Assert.Equal(2, loop.Round);
    }

    [Fact]
    public async Task Bad_step_sizes_and_empty_rounds_are_refused()
    {
        using var model = Model();
        using var probe = new ParameterVector(model);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep()) { StepSize = () => double.NaN };
        await Assert.ThrowsAsync<InvalidOperationException>(() => loop.RunRoundAsync(new[] { new Domain("a", [1, 1, 1], 1) }, Inner(probe, [])));
        await Assert.ThrowsAsync<InvalidInputException>(() => loop.RunRoundAsync(Array.Empty<Domain>(), Inner(probe, [])));
        Assert.Throws<InvalidInputException>(() => new MetaTrainingLoop(model, new WeightedMeanReptileStep(), new MetaTrainingOptions { Beta = 1.5 }));
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(double.NaN)] // the domain diverged: its gain and loss are NaN
    public async Task A_round_whose_domains_diverged_is_still_governed(double lossAfter)
    {
        manual_seed(11);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var bus = new Meta.Gpu.Runtime.EventBus();
        await using var _ = bus;
        var supervisor = new Meta.Gpu.Governance.MetaSupervisor(bus);
        await using var __ = supervisor;
        supervisor.Start();
        var answers = 0;
        using var sub = bus.Subscribe("meta_policy_update", (_, _) => { Interlocked.Increment(ref answers); return ValueTask.CompletedTask; });
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);

        await loop.RunRoundAsync(["d0"], id =>
        {
            probe.CopyFrom(new float[] { 1, 1, 1 });
            return new DomainOutcome(id, 1.0, lossAfter, 1.0);
        });
        await bus.WaitForIdleAsync();

        // The NaN median gain went out as "nan": the supervisor refused the window (a handler error) and sent nothing.
        Assert.Equal(0, bus.Stats.Errors);
        Assert.Equal(1, answers);
    }

    [Fact]
    public async Task A_step_size_of_one_moves_the_prior_onto_the_mean_and_one_of_zero_is_refused()
    {
        using var model = Model();
        using var probe = new ParameterVector(model);
        var prior0 = Current(probe);
        var step = 1.0;
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep()) { StepSize = () => step };
        var domains = new[] { new Domain("a", [1, 2, 3], 1.0), new Domain("b", [3, 4, 5], 1.0) };

        await loop.RunRoundAsync(domains, Inner(probe, []));
        Assert.Equal([2f, 3f, 4f], loop.Prior.ToArray());

        step = 0;
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => loop.RunRoundAsync(domains, Inner(probe, [])));
        Assert.Equal("the outer step size must be in (0, 1], the source gave 0", e.Message);
        Assert.Equal([2f, 3f, 4f], loop.Prior.ToArray());
        Assert.NotEqual(prior0, loop.Prior.ToArray());
    }

    // README: "the loop counts a domain as accepted when its gain reaches the governed g_min".
    [Fact]
    public async Task A_domain_whose_gain_reaches_g_min_exactly_counts_as_accepted()
    {
        using var model = Model();
        using var probe = new ParameterVector(model);
        var bus = new ScriptedBus();
        bus.ReplyOnce("processing_metrics", ("meta_policy_update", new JsonObject { ["evaluator"] = new JsonObject { ["g_min"] = 0.5 } }));
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        // Gains (1 - 0.5) / 1 = 0.5 and (1 - 0.625) / 1 = 0.375.
        var domains = new[] { new Domain("d0", [1, 1, 1], 0.8, 0.5), new Domain("d1", [1, 1, 1], 0.8, 0.625) };

        await loop.RunRoundAsync(domains, Inner(probe, []));
        var second = await loop.RunRoundAsync(domains, Inner(probe, []));

        Assert.Equal(0.5, loop.Knobs["g_min"]);
        Assert.Equal(0.5, second.AcceptRate);
        var processing = BusPayload.AsObject(bus.Published[^1].Payload, "processing_metrics");
        Assert.Equal(0.5, (double)processing["accept_rate"]!);
    }
}
