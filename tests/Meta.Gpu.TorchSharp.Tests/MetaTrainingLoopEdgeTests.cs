using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>The training loop where a domain diverges, a round is cancelled, governance sends something malformed,
/// or the module has buffers; each case failed before its fix.</summary>
public sealed class MetaTrainingLoopEdgeTests
{
    private static Func<string, DomainOutcome> Writing(ParameterVector probe, Func<string, DomainOutcome> outcome) => id =>
    {
        probe.CopyFrom(new float[] { 1, 1, 1 });
        return outcome(id);
    };

    // A diverged domain's policy pack carried gain_p50 / meta_score / stability_avg as "nan"/"-inf"; the agent's
    // learner refuses non-finite metrics, so the pack was a handler error and the domain's failure never reached the
    // learner (processing_metrics already left such figures out).
    [Theory]
    [InlineData(double.NaN, 1.0)]               // loss went NaN
    [InlineData(double.PositiveInfinity, 1.0)]  // loss overflowed
    [InlineData(0.5, double.NaN)]               // the inner loop's confidence is NaN
    public async Task A_diverged_domains_policy_pack_is_taken_by_the_agent(double lossAfter, double confidence)
    {
        manual_seed(11);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var bus = new EventBus();
        await using var _ = bus;
        await using var agent = new MetaLearningAgent(bus);
        await agent.StartAsync();
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);

        await loop.RunRoundAsync(["good", "bad"], Writing(probe, id => id == "good"
            ? new DomainOutcome(id, 1.0, 0.5, 1.0)
            : new DomainOutcome(id, 1.0, lossAfter, confidence)));
        await bus.WaitForIdleAsync();

        Assert.Equal(0, bus.Stats.Errors);
    }

    // The round's median gain (and so meta_score, the governance reward) dropped every non-finite gain: two of three
    // domains diverging scored +0.5, while the same two merely reaching a loss of 1e30 scored -1. Divergence hid
    // from the rollback.
    [Fact]
    public async Task Domains_whose_loss_overflowed_count_in_the_rounds_reward()
    {
        manual_seed(11);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());

        var diverged = await loop.RunRoundAsync(["a", "b", "c"],
            Writing(probe, id => new DomainOutcome(id, 1.0, id == "a" ? 0.5 : double.PositiveInfinity, 1.0)));
        var blewUp = await loop.RunRoundAsync(["a", "b", "c"],
            Writing(probe, id => new DomainOutcome(id, 1.0, id == "a" ? 0.5 : 1e30, 1.0)));

        Assert.Equal(-1, blewUp.MetaScore);
        Assert.True(diverged.MetaScore <= blewUp.MetaScore, $"diverged round scored {diverged.MetaScore}, blown-up round {blewUp.MetaScore}");
    }

    // Cancellation requested during the last domain's inner loop was not looked at until the bus wait after the
    // round had committed: the caller got an OperationCanceledException (no result) although the prior had moved,
    // Round counted and the packs gone out.
    [Fact]
    public async Task A_round_that_throws_cancellation_has_not_moved_the_prior()
    {
        manual_seed(11);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var bus = new EventBus();
        await using var _ = bus;
        using var slow = bus.Subscribe("processing_metrics", async (_, _) => await Task.Delay(50, CancellationToken.None));
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        var prior0 = loop.Prior.ToArray();
        using var cts = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop.RunRoundAsync(["a", "b"], id =>
        {
            probe.CopyFrom(new float[] { 5, 5, 5 });
            if (id == "b") cts.Cancel(); // Ctrl-C while the last domain adapts
            return new DomainOutcome(id, 1.0, 0.5, 1.0);
        }, cts.Token));

        Assert.Equal(0, loop.Round);
        Assert.Equal(prior0, loop.Prior.ToArray());
    }

    // A governance message that is not a JSON object, after a rollback queued before it was applied: the round threw
    // (it still does), the rollback stayed applied, and no round result ever said RolledBack.
    [Fact]
    public async Task A_malformed_governance_message_does_not_lose_an_applied_rollback()
    {
        manual_seed(11);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var bus = new ScriptedBus();
        bus.ReplyOnce("processing_metrics",
            ("meta_rollback_active", new JsonObject { ["source"] = "optimizer", ["reward"] = 0.1 }),
            ("meta_policy_update", "not an object"));
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        var inner = Writing(probe, id => new DomainOutcome(id, 1, 0.5, 1));

        await loop.RunRoundAsync(["a"], inner);
        var second = await Record.ExceptionAsync(() => loop.RunRoundAsync(["a"], inner));
        var third = await loop.RunRoundAsync(["a"], inner);

        Assert.Equal(1, loop.Rollbacks);
        Assert.True(second is null || third.RolledBack, $"round 2 threw ({second?.Message}) and round 3 did not report the rollback");
    }

    // Answers sent while no round runs are folded as they arrive (a queue of every message grew without bound on a
    // loop left idle under a chatty supervisor): the next round must apply what applying them in arrival order
    // would (the latest value of each knob, a non-number ignored, one rollback however many were announced), and
    // an unreadable one among them still surfaces, once, without holding back the readable ones after it.
    [Fact]
    public async Task Answers_sent_to_an_idle_loop_apply_as_their_arrival_order_would()
    {
        manual_seed(5);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var prior0 = new float[probe.Length];
        probe.CopyTo(prior0);
        var bus = new ScriptedBus();
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        var inner = Writing(probe, id => new DomainOutcome(id, 1, 0.5, 1));
        await loop.RunRoundAsync(["a"], inner);
        Assert.NotEqual(prior0, loop.Prior.ToArray());

        for (var i = 0; i < 5_000; i++)
        {
            await bus.PublishAsync("meta_policy_update", new JsonObject
            {
                ["controller"] = new JsonObject { ["tau"] = 0.5 + i * 1e-5, ["unknown_knob"] = 3.0 },
                ["evaluator"] = i == 10 ? new JsonObject { ["g_min"] = 0.02 } : new JsonObject { ["g_min"] = "not a number" },
            });
            if (i % 1_000 == 0) await bus.PublishAsync("meta_rollback_active", new JsonObject { ["source"] = "optimizer", ["reward"] = 0.1 });
            if (i == 2_500) await bus.PublishAsync("meta_policy_update", "not an object");
        }
        await bus.PublishAsync("meta_policy_update", new JsonObject { ["evaluator"] = new JsonObject { ["lambda_ci"] = 0.25 } });

        await Assert.ThrowsAsync<InvalidInputException>(() => loop.RunRoundAsync(["a"], inner));
        Assert.Equal(0.5 + 4_999 * 1e-5, loop.Knobs["tau"]);
        Assert.Equal(0.02, loop.Knobs["g_min"]);
        Assert.Equal(0.25, loop.Knobs["lambda_ci"]);
        Assert.False(loop.Knobs.ContainsKey("unknown_knob"));
        Assert.Equal(1, loop.Rollbacks);
        Assert.Equal(prior0, loop.Prior.ToArray());

        var next = await loop.RunRoundAsync(["a"], inner);
        Assert.True(next.RolledBack);
        Assert.Equal(1, loop.Rollbacks);
    }

    // Buffers (BatchNorm running_mean/var, num_batches_tracked) are not in the vector, and the loop did not reset
    // them: each domain started from the running statistics the previous domain's adaptation left.
    [Fact]
    public async Task Each_domain_adapts_from_the_same_module_state()
    {
        manual_seed(1);
        using var model = nn.Sequential(("lin", nn.Linear(2, 2)), ("bn", nn.BatchNorm1d(2)));
        var bn = (BatchNorm1d)model.named_children().First(c => c.name == "bn").module;
        var startedFrom = new List<float[]>();
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());

        await loop.RunRoundAsync(new[] { 5f, -5f }, shift =>
        {
            startedFrom.Add(bn.running_mean!.data<float>().ToArray());
            model.train();
            using var scope = NewDisposeScope();
            model.forward(randn(8, 2) + shift);
            return new DomainOutcome(shift.ToString(System.Globalization.CultureInfo.InvariantCulture), 1, 0.5, 1);
        });

        Assert.Equal(startedFrom[0], startedFrom[1]);
        Assert.Equal(startedFrom[0], bn.running_mean!.data<float>().ToArray()); // and the module gets them back
    }

    private sealed class EmptyParameters : nn.Module
    {
        public EmptyParameters() : base("empty") => register_parameter("z", new Parameter(empty(0, 4)));
    }

    // A module whose parameters all have zero elements failed in frombuffer ("invalid value for 'offset': 0").
    [Fact]
    public void A_module_with_only_empty_parameters_is_refused_by_name()
    {
        using var model = new EmptyParameters();
        var e = Assert.ThrowsAny<ArgumentException>(() => new ParameterVector(model));
        Assert.Contains("no parameters", e.Message, StringComparison.Ordinal);
    }

    // A bus that refuses the round's reports after the step was taken.
    [Fact]
    public async Task A_round_whose_reports_the_bus_refuses_either_completes_or_leaves_the_prior_unmoved()
    {
        manual_seed(11);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var bus = new EventBus();
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        var prior0 = loop.Prior.ToArray();
        await bus.ShutdownAsync(TimeSpan.FromSeconds(1));

        MetaRoundResult? result = null;
        var error = await Record.ExceptionAsync(async () => result = await loop.RunRoundAsync(["a", "b"], id =>
        {
            probe.CopyFrom(new float[] { 5, 5, 5 });
            return new DomainOutcome(id, 1.0, 0.5, 1.0);
        }));

        // It threw after moving the prior: a caller retrying would step twice.
        Assert.True(error is null || (loop.Round == 0 && prior0.SequenceEqual(loop.Prior.ToArray())),
            $"the round threw ({error?.GetType().Name}: {error?.Message}) after moving the prior (Round = {loop.Round})");
        Assert.Equal(1, result!.Round);
        Assert.Contains("shut down", result.ReportFailure, StringComparison.Ordinal);
    }

    private static DomainOutcome Adapt(Sequential model, float shift)
    {
        model.train();
        using var scope = NewDisposeScope();
        model.forward(randn(8, 2) + shift);
        return new DomainOutcome(shift.ToString(System.Globalization.CultureInfo.InvariantCulture), 1, 0.5, 1);
    }

    // The usual TorchSharp pattern: one dispose scope per training iteration. The round-start buffer snapshots were
    // made inside the caller's scope on the first round, which disposed them: the second round failed on an empty
    // handle.
    [Fact]
    public async Task Rounds_each_inside_a_dispose_scope_keep_working()
    {
        manual_seed(1);
        using var model = nn.Sequential(("lin", nn.Linear(2, 2)), ("bn", nn.BatchNorm1d(2)));
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());

        for (var round = 0; round < 3; round++)
        {
            using var scope = NewDisposeScope();
            await loop.RunRoundAsync(new[] { 5f, -5f }, shift => Adapt(model, shift));
        }

        Assert.Equal(3, loop.Round);
    }

    // BatchNorm without running statistics: its buffers are absent (passed before; kept beside the one above).
    [Fact]
    public async Task A_batch_norm_without_running_statistics_trains()
    {
        manual_seed(1);
        using var model = nn.Sequential(("lin", nn.Linear(2, 2)), ("bn", nn.BatchNorm1d(2, track_running_stats: false)));
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());

        await loop.RunRoundAsync(new[] { 5f, -5f }, shift => Adapt(model, shift));
        await loop.RunRoundAsync(new[] { 5f, -5f }, shift => Adapt(model, shift));

        Assert.Equal(2, loop.Round);
    }

    // The prior itself diverged: every domain's loss is NaN (or infinite) already before adapting. Gain is 0 when
    // LossBefore is not finite, so the round scored 0 (neutral), not the worst, and each pack said meta_score 0:
    // the rollback, driven by the reward, never saw the run failing.
    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public async Task A_round_whose_prior_diverged_scores_the_worst(double loss)
    {
        manual_seed(11);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var bus = new EventBus();
        await using var _ = bus;
        var scores = new List<double?>();
        using var packs = bus.Subscribe("federation.policy_pack", (e, _) =>
        {
            lock (scores) scores.Add(((JsonObject)BusPayload.AsNode(e.Payload)!)["metrics"]!["meta_score"]?.GetValue<double>());
            return ValueTask.CompletedTask;
        });
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);

        var result = await loop.RunRoundAsync(["a", "b", "c"], id =>
        {
            probe.CopyFrom(new float[] { 1, 1, 1 });
            return new DomainOutcome(id, loss, loss, 1.0);
        });
        await bus.WaitForIdleAsync();

        Assert.Equal(-1, result.MetaScore);
        Assert.All(scores, s => Assert.Equal(-1, s));
    }

    // A subscriber that is stuck (its queue full, in-process backpressure): for a while the reports were published
    // without the caller's token, and a cancelled round waited for the subscriber for ever. The round is taken
    // either way; it comes back, with ReportFailure, once cancelled.
    [Fact]
    public async Task A_cancelled_round_does_not_wait_for_ever_on_a_full_subscriber_queue()
    {
        manual_seed(11);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var bus = new EventBus(new EventBusOptions(QueueCapacity: 1));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stuck = bus.Subscribe("federation.policy_pack", async (_, _) => await release.Task);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        using var cts = new CancellationTokenSource();

        var round = loop.RunRoundAsync(["a", "b", "c", "d", "e"], id =>
        {
            probe.CopyFrom(new float[] { 5, 5, 5 });
            return new DomainOutcome(id, 1.0, 0.5, 1.0);
        }, cts.Token);
        await Task.Delay(500, TestContext.Current.CancellationToken);
        cts.Cancel(); // Ctrl-C while the reports wait for room

        var finished = await Task.WhenAny(round, Task.Delay(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
        release.TrySetResult();
        var result = await round;
        await bus.DisposeAsync();
        Assert.True(ReferenceEquals(finished, round), "the round still waited 5 s after its token was cancelled");
        Assert.Equal(1, result.Round);
        Assert.NotNull(result.ReportFailure);
    }

    // A domain whose prior diverged (LossBefore not finite) scores the worst in the round's gain and its pack, but
    // the accept rate read DomainOutcome.Gain, which is 0 for it: with g_min governed to 0 every diverged domain
    // counted as accepted (accept_rate 1 beside meta_score -1).
    [Fact]
    public async Task A_domain_whose_prior_diverged_is_not_counted_as_accepted()
    {
        manual_seed(11);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var bus = new ScriptedBus();
        bus.ReplyOnce("processing_metrics",
            ("meta_policy_update", new JsonObject { ["evaluator"] = new JsonObject { ["g_min"] = 0.0 } }));
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);

        await loop.RunRoundAsync(["a"], id => { probe.CopyFrom(new float[] { 1, 1, 1 }); return new DomainOutcome(id, 1, 0.5, 1); });
        var diverged = await loop.RunRoundAsync(["a", "b"], id => { probe.CopyFrom(new float[] { 1, 1, 1 }); return new DomainOutcome(id, double.NaN, double.NaN, 1); });

        Assert.Equal(-1, diverged.MetaScore);
        Assert.Equal(0.0, loop.Knobs["g_min"]);
        Assert.Equal(0.0, diverged.AcceptRate);
    }

    private sealed class GrowingModel : nn.Module
    {
        public GrowingModel() : base("growing") => register_module("body", nn.Linear(2, 2));

        public void AddHead() => register_module("head", nn.Linear(2, 1));
    }

    // A head added to the module after the loop was made was left out of the prior and out of the reset between
    // domains without a word: each domain adapted it from where the previous one had left it.
    [Fact]
    public async Task A_parameter_added_after_the_loop_was_made_is_refused_by_name_and_the_round_changes_nothing()
    {
        manual_seed(3);
        using var model = new GrowingModel();
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        var prior0 = loop.Prior.ToArray();
        model.AddHead();
        var calls = 0;

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            loop.RunRoundAsync(new[] { "a", "b" }, id => { calls++; return new DomainOutcome(id, 1, 0.5, 1); }));

        Assert.Contains("'head.weight'", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);
        Assert.Equal(0, loop.Round);
        Assert.Equal(prior0, loop.Prior.ToArray());
    }

    // With the host step a round took an outcome without a domain id and published its policy pack with
    // domain_id null (which the agent refuses); the engine's step refused it only after every inner loop had run.
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task An_outcome_without_a_domain_id_is_refused_and_the_round_changes_nothing(string? id)
    {
        var message = await RefusedRoundAsync(["a", "b"], name => name == "b" ? id! : name);

        Assert.StartsWith("domain_id:", message, StringComparison.Ordinal);
        Assert.Contains("domains[1]", message, StringComparison.Ordinal);
    }

    // Two outcomes of one round naming the same domain were both stepped in (that domain counted twice) and both
    // published as policy packs of one domain, of which governance keeps one.
    [Fact]
    public async Task Two_outcomes_of_one_round_naming_the_same_domain_are_refused_and_the_round_changes_nothing()
    {
        var message = await RefusedRoundAsync(["a", "b", "c"], name => name == "c" ? "a" : name);

        Assert.Equal("domain_id: the inner loop's outcomes for domains[0] and domains[2] both name 'a' (one outcome a domain a round)", message);
    }

    /// <summary>Runs a round over <paramref name="domains"/> whose inner loop adapts the module and names each outcome
    /// <paramref name="idOf"/>(domain); asserts that the round was refused as invalid input and changed nothing (no
    /// round counted, the prior and the module as before, nothing published). Returns the refusal's message.</summary>
    private static async Task<string> RefusedRoundAsync(string[] domains, Func<string, string> idOf)
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var bus = new ScriptedBus();
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        var prior0 = loop.Prior.ToArray();

        var e = await Assert.ThrowsAsync<InvalidInputException>(() =>
            loop.RunRoundAsync(domains, Writing(probe, name => new DomainOutcome(idOf(name), 1, 0.5, 1))));

        Assert.Equal(0, loop.Round);
        Assert.Equal(prior0, loop.Prior.ToArray());
        var current = new float[probe.Length];
        probe.CopyTo(current);
        Assert.Equal(prior0, current);
        Assert.Empty(bus.Published);
        return e.Message;
    }

    // Two rounds at once on one loop wrote one module, batch and prior, each stepping from the other's half-done state.
    [Fact]
    public async Task A_second_round_while_one_runs_is_refused_and_the_running_round_completes()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var first = Task.Run(() => loop.RunRoundAsync(new[] { "a", "b" }, name =>
        {
            inside.Set();
            Assert.True(release.Wait(TimeSpan.FromSeconds(30)));
            return new DomainOutcome(name, 1, 0.5, 1);
        }));
        Assert.True(inside.Wait(TimeSpan.FromSeconds(30)));
        var calls = 0;

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            loop.RunRoundAsync(new[] { "c" }, name => { calls++; return new DomainOutcome(name, 1, 0.5, 1); }));
        release.Set();
        var result = await first;

        Assert.Contains("already running", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);
        Assert.Equal(1, result.Round);
        Assert.Equal(1, loop.Round);
        // Refusing did not leave the loop marked busy: the next round runs.
        Assert.Equal(2, (await loop.RunRoundAsync(new[] { "c" }, name => new DomainOutcome(name, 1, 0.5, 1))).Round);
    }

    // A prior loaded with a NaN (a corrupt file, a diverged run's checkpoint) was taken: every domain of every later
    // round adapted from it and every loss was NaN.
    [Theory]
    [InlineData(float.NaN, 1, "prior[1] (weight)")]
    [InlineData(float.PositiveInfinity, 2, "prior[2] (bias)")]
    public async Task A_prior_with_a_value_that_is_not_finite_is_refused_by_index_and_changes_nothing(float bad, int at, string named)
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        await loop.RunRoundAsync(new[] { "a" }, id => { probe.CopyFrom(new float[] { 1, 2, 3 }); return new DomainOutcome(id, 1, 0.5, 1); });
        var prior1 = loop.Prior.ToArray();
        var values = new float[] { 4, 5, 6 };
        values[at] = bad;

        var e = Assert.Throws<ArgumentException>(() => loop.SetPrior(values));

        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Equal(prior1, loop.Prior.ToArray());
        var current = new float[probe.Length];
        probe.CopyTo(current);
        Assert.Equal(prior1, current);
    }
}
