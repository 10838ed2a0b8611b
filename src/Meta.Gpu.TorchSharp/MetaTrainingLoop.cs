using System.Diagnostics;
using System.Text.Json.Nodes;
using Meta.Gpu.Compute;
using Meta.Gpu.Governance;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp;

/// <summary>
/// Reptile meta-training around a TorchSharp module. Per meta-round: for each sampled domain, write the prior
/// into the module and run the caller's inner loop (which adapts the module in place and reports a
/// <see cref="DomainOutcome"/>); collect the adapted parameters as one <see cref="DomainBatch"/> row with the
/// domain's confidence; aggregate across domains and take the Reptile step (<see cref="IOuterStep"/>, on the
/// chosen backend); write the prior back into the module.
/// </summary>
/// <remarks>
/// With a bus, each round publishes one <c>federation.policy_pack</c> per domain (its metrics and the knobs it
/// ran under) and one <c>processing_metrics</c> (DESIGN §3, §6, §10), so a <c>MetaSupervisor</c> and a
/// <c>MetaLearningAgent</c> on the same bus govern the run: the loop follows the supervisor's
/// <c>meta_policy_update</c> knobs (<c>g_min</c> decides which adaptations count as accepted), restores the
/// previous prior when the agent announces <c>meta_rollback_active</c>, and takes its outer step size from
/// <see cref="StepSize"/> (wired to the optimizer's beta by the caller). Answers are applied at round boundaries
/// only, as applying them in arrival order would leave things (the latest value of each knob; a rollback at most
/// once), so a round never sees a half-applied policy and a loop left idle holds a few values, not every answer.
/// Buffers (BatchNorm's running statistics) are not meta-learned: every domain adapts from the buffers the module
/// held when the round began, and the module gets them back after the round, so no domain's adaptation (nor the
/// order of the domains) leaks into the next one or into the module between rounds.
/// A round that throws (an inner loop, the outer step, cancellation before the step) changes nothing of its own;
/// once the step is taken the round completes, and a cancellation arriving after it is seen by the next round.
/// </remarks>
public sealed class MetaTrainingLoop : IDisposable
{
    /// <summary>The knobs a domain runs under (DESIGN §5 initial values) until the supervisor changes them.</summary>
    private readonly SortedDictionary<string, double> _knobs = new(StringComparer.Ordinal)
    {
        ["gamma_diversity"] = 0.3,
        ["g_min"] = 0.01,
        ["lambda_ci"] = 0.5,
        ["tau"] = 0.9,
    };

    private readonly nn.Module _model;
    private readonly ParameterVector _parameters;
    // The module's buffers as the round began (reused from round to round).
    private Tensor[] _bufferStart = [];
    private readonly IOuterStep _outerStep;
    private readonly IEventBus? _bus;
    private readonly MetaTrainingOptions _options;
    private readonly float[] _prior;
    private float[] _previousPrior;
    // The prior as the round found it, kept while the outer step runs: a step that throws is undone from it.
    private float[] _stepStart;
    private readonly GovernanceInbox _inbox;
    private readonly List<IDisposable> _subscriptions = [];
    private DomainBatch? _batch;
    private OnlineReptileOptimizer? _optimizer;
    private bool _hasPrevious;
    // False while the prior is the module's values as the loop was made and one of them is not finite: rounds are
    // refused until SetPrior takes a finite one.
    private bool _priorFinite;
    // 1 while a round or SetPrior runs, and for good once the loop's tensors are released.
    private int _roundRunning;
    private volatile bool _disposed;
    private Func<double> _stepSize;

    public MetaTrainingLoop(nn.Module model, IOuterStep outerStep, MetaTrainingOptions? options = null, IEventBus? bus = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(outerStep);
        _options = options ?? new MetaTrainingOptions();
        _options.Validate();
        _outerStep = outerStep;
        _bus = bus;
        _model = model;
        _parameters = new ParameterVector(model);
        _prior = new float[_parameters.Length];
        _previousPrior = new float[_parameters.Length];
        _stepStart = new float[_parameters.Length];
        _parameters.CopyTo(_prior);
        _priorFinite = FirstNonFinite(_prior) < 0;
        _stepSize = () => _options.Beta;
        _inbox = new GovernanceInbox(new HashSet<string>(_knobs.Keys, StringComparer.Ordinal));
        if (bus is not null)
        {
            try
            {
                foreach (var topic in new[] { GovernanceTopics.MetaPolicyUpdate, LearningTopics.MetaRollbackActive })
                    _subscriptions.Add(bus.Subscribe(topic, (e, _) =>
                    {
                        _inbox.Post(e);
                        return ValueTask.CompletedTask;
                    }));
            }
            catch
            {
                // A refused second subscription left the first one delivering to a loop nobody holds.
                foreach (var subscription in _subscriptions) subscription.Dispose();
                _parameters.Dispose();
                throw;
            }
        }
    }

    /// <summary>The module's parameters as a flat vector (layout: <see cref="ParameterVector"/>).</summary>
    public ParameterVector Parameters => _parameters;

    /// <summary>The meta-learned prior; the module holds it between rounds.</summary>
    public ReadOnlySpan<float> Prior => _prior;

    /// <summary>Rounds completed.</summary>
    public int Round { get; private set; }

    private bool _rollbackUnreported;

    /// <summary>Rollbacks the agent asked for and the loop applied.</summary>
    public int Rollbacks { get; private set; }

    /// <summary>The knobs in force (tau, gamma_diversity, g_min, lambda_ci), as the supervisor last set them.</summary>
    public IReadOnlyDictionary<string, double> Knobs => _knobs;

    /// <summary>The outer step size for the next round, read once per round. Default: the options' beta;
    /// set it to follow a governed optimizer's beta.</summary>
    public Func<double> StepSize
    {
        get => _stepSize;
        // A null source was taken, and every later round failed on a NullReferenceException naming nothing.
        set => _stepSize = value ?? throw new ArgumentNullException(nameof(value), "StepSize: a step size source is required");
    }

    /// <summary>The optimizer whose beta the outer step follows, when one is set.</summary>
    public OnlineReptileOptimizer? Optimizer => _optimizer;

    /// <summary>
    /// Makes the outer step size follow <paramref name="optimizer"/>'s beta (DESIGN §8). After each round the loop
    /// steps the optimizer with the round's reward (<see cref="MetaRoundResult.MetaScore"/>) and resource flags:
    /// <c>latency_high</c> when the outer step took longer than the scheduler's latency target, and
    /// <c>bandwidth_free</c> when it took less than <see cref="MetaTrainingOptions.ComfortLatencyMs"/>. The
    /// optimizer carries no dense values here: the dense prior moves in <see cref="IOuterStep"/>; DESIGN §10 gives
    /// the dense prior its own optimizer state, driven by the same reward and flags as the knob prior.
    /// </summary>
    public void FollowOptimizer(OnlineReptileOptimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        _optimizer = optimizer;
        StepSize = () => optimizer.Beta;
    }

    /// <summary>Runs one meta-round over <paramref name="domains"/>. <paramref name="innerLoop"/> is called once
    /// per domain, in order, with the module holding the prior; it adapts the module in place.</summary>
    /// <exception cref="InvalidInputException">An outcome without a domain id, or two outcomes naming one domain: the
    /// round changes nothing (the prior, the module and the bus are as before it).</exception>
    /// <exception cref="InvalidOperationException">Another round of this loop is still running: rounds run one at a
    /// time (they share the prior, the module and the batch). Or the prior is still the module's values as the loop was
    /// made and one is NaN or infinite (named): nothing moves until <see cref="SetPrior"/> sets a finite one.</exception>
    public async Task<MetaRoundResult> RunRoundAsync<TDomain>(
        IReadOnlyList<TDomain> domains,
        Func<TDomain, DomainOutcome> innerLoop,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(domains);
        ArgumentNullException.ThrowIfNull(innerLoop);
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Two rounds at once wrote one module, one batch and one prior, and each stepped from the other's half-done
        // state; refused at once, before either moves anything.
        if (Interlocked.Exchange(ref _roundRunning, 1) != 0)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            throw new InvalidOperationException("a round of this MetaTrainingLoop is already running: its rounds run one at a time");
        }
        try
        {
            return await RunRoundCoreAsync(domains, innerLoop, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            EndRun();
        }
    }

    private async Task<MetaRoundResult> RunRoundCoreAsync<TDomain>(
        IReadOnlyList<TDomain> domains,
        Func<TDomain, DomainOutcome> innerLoop,
        CancellationToken cancellationToken)
    {
        if (domains.Count == 0) throw new InvalidInputException("domains: a meta-round needs at least one domain");
        // A parameter added, removed or replaced since the loop was made would be left out of the prior (and out of
        // the reset between domains, so one domain's adaptation of it leaked into the next) without a word.
        _parameters.EnsureParametersOf(_model);
        // As SetPrior refuses it: a module that held a NaN when the loop was made (a diverged run's checkpoint) was
        // taken as the prior, every loss of every round was NaN and every row left out, and the prior never moved.
        if (!_priorFinite)
        {
            var bad = FirstNonFinite(_prior);
            throw new InvalidOperationException($"prior[{bad}] ({_parameters.NameAt(bad)}): must be finite, got {_prior[bad].ToString(System.Globalization.CultureInfo.InvariantCulture)} (the module held it when the loop was made); set a finite prior with SetPrior");
        }

        // A rollback applied here stays applied when the round then fails (the agent asked for it); the round
        // that completes next reports it.
        var rolledBack = ApplyGovernance() | _rollbackUnreported;
        var beta = StepSize();
        if (!double.IsFinite(beta) || beta <= 0 || beta > 1)
            throw new InvalidOperationException(FormattableString.Invariant($"the outer step size must be in (0, 1], the source gave {beta}"));

        var roundClock = Stopwatch.StartNew();
        // The round is over the domains the list holds now: a list an inner loop shrank (a queue of pending tasks)
        // ended the loop early, the rows of the domains not run went into the step and the missing outcomes failed
        // the round after its step was taken.
        var count = domains.Count;
        if (_batch is null || _batch.Rows != count) _batch = new DomainBatch(count, _parameters.Length);
        var batch = _batch;
        var outcomes = new DomainOutcome[count];
        var named = new Dictionary<string, int>(count, StringComparer.Ordinal);
        var buffers = SaveBuffers();
        try
        {
            for (var i = 0; i < count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _parameters.CopyFrom(_prior);
                RestoreBuffers(buffers);
                var outcome = innerLoop(domains[i]) ?? throw new InvalidOperationException($"the inner loop returned no outcome for domains[{i}]");
                // Refused here, before the step: the host step took a row without an id and its policy pack went out
                // with domain_id null, which governance refuses (the engine's step refused it, after every inner loop).
                if (string.IsNullOrEmpty(outcome.DomainId))
                    throw new InvalidInputException($"domain_id: the inner loop's outcome for domains[{i}] has none (null or empty)");
                // A second outcome of one domain was stepped in as well (the domain counted twice) and published as a
                // second policy pack of that domain, of which governance keeps one.
                if (!named.TryAdd(outcome.DomainId, i))
                    throw new InvalidInputException($"domain_id: the inner loop's outcomes for domains[{named[outcome.DomainId]}] and domains[{i}] both name '{outcome.DomainId}' (one outcome a domain a round)");
                _parameters.EnsureParametersOf(_model);
                outcomes[i] = outcome;
                _parameters.CopyTo(batch, i);
                batch.Confidences[i] = outcome.Confidence;
                batch.Ids[i] = outcome.DomainId;
            }
            // The last chance to stop: after the step the round is taken whole.
            cancellationToken.ThrowIfCancellationRequested();
        }
        catch
        {
            // A failed round changes nothing of its own: the module goes back to the prior, which the round never
            // touched (a rollback applied as it began stays, and the next round reports it). Into what is left of it
            // when the inner loop replaced a parameter or buffer (module.to(...), a new Parameter): the checked copy
            // refused there, leaving the rest at the domain's adaptation, and its "disposed" hid the round's exception.
            _parameters.CopyFromIntact(_prior);
            RestoreBuffers(buffers, skipDisposed: true);
            throw;
        }
        RestoreBuffers(buffers);
        batch.MarkChanged();

        _prior.CopyTo(_stepStart, 0);
        var stepClock = Stopwatch.StartNew();
        OuterStepResult step;
        try
        {
            step = _outerStep.Step(batch, _prior, beta);
        }
        catch
        {
            // As for a failed inner loop: the prior (which a step may have written in part) and the module go back
            // to where the round began, and the rollback copy stays the previous round's.
            _stepStart.CopyTo(_prior, 0);
            _parameters.CopyFrom(_prior);
            throw;
        }
        var outerMs = stepClock.Elapsed.TotalMilliseconds;
        (_previousPrior, _stepStart) = (_stepStart, _previousPrior);
        _hasPrevious = true;
        _parameters.CopyFrom(_prior);
        Round++;

        // A diverged domain (a NaN or infinite loss) counts as the worst value rather than not at all: dropped, two
        // of three domains diverging left the third's gain as the round's reward, and the rollback never saw it.
        var lossBefore = Median(outcomes.Select(o => o.LossBefore), worst: double.PositiveInfinity);
        var lossAfter = Median(outcomes.Select(o => o.LossAfter), worst: double.PositiveInfinity);
        var gain = Median(outcomes.Select(Score), worst: double.NegativeInfinity);
        var gMin = _knobs["g_min"];
        var result = new MetaRoundResult(
            Round,
            beta,
            step,
            lossBefore,
            lossAfter,
            gain,
            // Scored as the reward reads it: a domain whose prior diverged (Gain 0) is not accepted at g_min 0.
            outcomes.Count(o => Score(o) >= gMin) / (double)outcomes.Length,
            double.IsNaN(gain) ? 0 : Math.Clamp(gain, -1, 1),
            outerMs,
            roundClock.Elapsed.TotalMilliseconds,
            rolledBack);
        _rollbackUnreported = false;

        _optimizer?.Apply(
            [],
            [],
            result.MetaScore,
            new DrgProfile(
                VramHigh: false,
                LatencyHigh: result.OuterStepMs > _options.LatencyTargetMs,
                BandwidthFree: result.OuterStepMs < _options.ComfortLatencyMs));
        // The round is taken: a report the bus refuses (shut down, a broker gone) or that a cancellation stops while
        // it waits for room does not undo the round, which a retry would take again (ReportFailure says so); a wait
        // for governance cancelled meanwhile ends early (its answers apply at the next round).
        if (_bus is not null)
        {
            try
            {
                await PublishAsync(_bus, outcomes, result, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return result with { ReportFailure = e.Message };
            }
        }
        return result;
    }

    /// <summary>Replaces the prior (and the module's parameters) with <paramref name="prior"/>.</summary>
    /// <exception cref="ArgumentException">The length differs from the prior's, or a value is NaN or infinite
    /// (nothing is changed).</exception>
    /// <exception cref="InvalidOperationException">A round is running, or the module's parameter set changed since
    /// the loop was made (nothing is changed).</exception>
    public void SetPrior(ReadOnlySpan<float> prior)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Taken mid-round (from an inner loop, or another thread), the domains after it adapted from another prior
        // than those before, and the step moved the new prior with rows of both.
        if (Interlocked.CompareExchange(ref _roundRunning, 1, 0) != 0)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            throw new InvalidOperationException("a round of this MetaTrainingLoop is running: set the prior between rounds");
        }
        try
        {
            SetPriorCore(prior);
        }
        finally
        {
            EndRun();
        }
    }

    private void SetPriorCore(ReadOnlySpan<float> prior)
    {
        if (prior.Length != _prior.Length)
            throw new ArgumentException($"the prior has {_prior.Length} values, got {prior.Length}", nameof(prior));
        // Every domain adapts from the prior: a NaN taken here made every loss of every later round NaN, with
        // nothing pointing back at the value loaded.
        for (var i = 0; i < prior.Length; i++)
            if (!float.IsFinite(prior[i]))
                throw new ArgumentException($"prior[{i}] ({_parameters.NameAt(i)}): must be finite, got {prior[i].ToString(System.Globalization.CultureInfo.InvariantCulture)}", nameof(prior));
        // Checked before the prior is written: a parameter replaced since the loop was made failed the copy into the
        // module after the prior had taken the new values, and the two no longer agreed.
        _parameters.EnsureParametersOf(_model);
        prior.CopyTo(_prior);
        _parameters.CopyFrom(_prior);
        _hasPrevious = false;
        _priorFinite = true;
    }

    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (var i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    private async Task PublishAsync(IEventBus bus, DomainOutcome[] outcomes, MetaRoundResult result, CancellationToken token)
    {
        foreach (var outcome in outcomes)
            await bus.PublishAsync(LearningTopics.PolicyPack, PolicyPack(outcome), token).ConfigureAwait(false);

        // A round whose every domain diverged has no finite median gain or loss: such a figure is left out (read
        // as missing) rather than sent as NaN, which governance refuses, and the window would go ungoverned just
        // when the run is failing.
        var processing = new JsonObject
        {
            ["accept_rate"] = result.AcceptRate,
            ["bandwidth_free"] = result.OuterStepMs < _options.ComfortLatencyMs,
            ["beta"] = result.Beta,
            ["domains"] = outcomes.Length,
            ["engine_latency_ms"] = result.OuterStepMs,
            ["gain_p50"] = Finite(result.GainMedian),
            ["latency_ms"] = result.OuterStepMs,
            ["loss_after_p50"] = Finite(result.LossAfter),
            ["loss_before_p50"] = Finite(result.LossBefore),
            ["meta_score"] = result.MetaScore,
            ["participants"] = result.Step.Participants,
            ["round"] = result.Round,
            ["round_ms"] = result.RoundMs,
            ["stability_avg"] = Finite(outcomes.Average(o => double.IsNaN(o.Confidence) ? 0 : Math.Clamp(o.Confidence, 0, 1))),
        };
        await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, processing, token).ConfigureAwait(false);
        if (!_options.WaitForGovernance) return;
        try
        {
            await bus.WaitForIdleAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The round stands; the next one starts by seeing the cancellation.
        }
    }

    private static JsonNode? Finite(double value) => double.IsFinite(value) ? JsonValue.Create(value) : null;

    private JsonObject PolicyPack(DomainOutcome outcome)
    {
        var metrics = new JsonObject();
        var all = new SortedDictionary<string, double>(StringComparer.Ordinal)
        {
            ["gain_p50"] = Score(outcome),
            ["loss_after"] = outcome.LossAfter,
            ["loss_before"] = outcome.LossBefore,
            // The domain's reward for the agent's learner: its relative gain, clipped like every reward; a domain
            // whose loss diverged, before or after adapting, scores the worst, -1.
            ["meta_score"] = Math.Clamp(Score(outcome), -1, 1),
            ["stability_avg"] = double.IsNaN(outcome.Confidence) ? 0 : Math.Clamp(outcome.Confidence, 0, 1),
        };
        if (outcome.Metrics is not null)
            foreach (var (key, value) in outcome.Metrics) all[key] = value;
        // A non-finite figure is left out (read as missing), as in processing_metrics: the agent refuses a pack
        // that carries one, and a diverged domain's pack is the one governance most needs to see.
        foreach (var (key, value) in all)
            if (double.IsFinite(value)) metrics[key] = WireJson.Number(value);
        return new JsonObject
        {
            ["controller"] = new JsonObject { ["gamma_diversity"] = _knobs["gamma_diversity"], ["tau"] = _knobs["tau"] },
            ["domain_id"] = outcome.DomainId,
            ["evaluator"] = new JsonObject { ["g_min"] = _knobs["g_min"], ["lambda_ci"] = _knobs["lambda_ci"] },
            ["metrics"] = metrics,
        };
    }

    /// <summary>Applies the answers that arrived since the last round (<see cref="GovernanceInbox"/>: the state
    /// applying them in arrival order leaves). Returns true when a rollback restored the previous prior; throws,
    /// after applying the rest, when one of them could not be read.</summary>
    private bool ApplyGovernance()
    {
        var (knobs, rollback, unreadable) = _inbox.Take();
        var rolledBack = false;
        if (rollback && _hasPrevious)
        {
            _previousPrior.CopyTo(_prior, 0);
            _parameters.CopyFrom(_prior);
            _hasPrevious = false;
            Rollbacks++;
            rolledBack = true;
            // Reported by the next round that completes, even if this one throws.
            _rollbackUnreported = true;
        }
        foreach (var (key, value) in knobs) _knobs[key] = value;
        unreadable?.Throw();
        return rolledBack;
    }

    /// <summary>A domain's gain as the reward reads it: -inf (the worst) when a loss is not finite, before or after
    /// adaptation (<see cref="DomainOutcome.Gain"/> is 0 when the prior's own loss diverged, which scored a blown-up
    /// prior as neutral).</summary>
    private static double Score(DomainOutcome outcome) =>
        double.IsFinite(outcome.LossBefore) && double.IsFinite(outcome.LossAfter) ? outcome.Gain : double.NegativeInfinity;

    /// <summary>The median with NaN read as <paramref name="worst"/>; NaN only for no values.</summary>
    private static double Median(IEnumerable<double> values, double worst)
    {
        var sorted = values.Select(v => double.IsNaN(v) ? worst : v).Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>Copies the module's buffers into the round-start snapshots (made once, again only
    /// when the buffers change shape).</summary>
    private Tensor[] SaveBuffers()
    {
        var buffers = _model.buffers().ToArray();
        var same = _bufferStart.Length == buffers.Length;
        for (var i = 0; same && i < buffers.Length; i++)
            same = _bufferStart[i].shape.SequenceEqual(buffers[i].shape) && _bufferStart[i].dtype == buffers[i].dtype;
        if (!same)
        {
            foreach (var old in _bufferStart) old.Dispose();
            // Kept across rounds: out of any dispose scope the caller runs its rounds in (a per-round scope disposed
            // them after the first round, and the second failed on an empty handle).
            _bufferStart = new Tensor[buffers.Length];
            for (var i = 0; i < buffers.Length; i++)
            {
                using var detached = buffers[i].detach();
                _bufferStart[i] = detached.clone().DetachFromDisposeScope();
            }
        }
        else
        {
            using var _ = no_grad();
            for (var i = 0; i < buffers.Length; i++) _bufferStart[i].copy_(buffers[i]);
        }
        return buffers;
    }

    private void RestoreBuffers(Tensor[] buffers, bool skipDisposed = false)
    {
        using var _ = no_grad();
        for (var i = 0; i < buffers.Length; i++)
            if (!(skipDisposed && buffers[i].IsInvalid)) buffers[i].copy_(_bufferStart[i]);
    }

    /// <summary>Unsubscribes and releases the loop's tensors; later rounds and <see cref="SetPrior"/> throw
    /// <see cref="ObjectDisposedException"/>. A round (or SetPrior) running on another thread meanwhile completes (or
    /// fails) as it would have, and releases the tensors as it ends. The module is the caller's, as before.</summary>
    public void Dispose()
    {
        _disposed = true;
        IDisposable[] subscriptions;
        lock (_subscriptions)
        {
            subscriptions = [.. _subscriptions];
            _subscriptions.Clear();
        }
        foreach (var subscription in subscriptions) subscription.Dispose();
        // Freed under a running round, the ParameterVector refused the round's copy of the prior back into the module,
        // which kept one domain's adaptation where the prior belongs (and a buffer copy could use a freed tensor).
        if (Interlocked.CompareExchange(ref _roundRunning, 1, 0) == 0) Release();
    }

    /// <summary>Ends a round or SetPrior; releases the tensors when the loop was disposed meanwhile.</summary>
    private void EndRun()
    {
        Interlocked.Exchange(ref _roundRunning, 0);
        // Either this sees the flag Dispose set, or Dispose sees the run ended and releases itself; the flag taken
        // here and never given back makes the release happen once.
        if (_disposed && Interlocked.CompareExchange(ref _roundRunning, 1, 0) == 0) Release();
    }

    private void Release()
    {
        foreach (var buffer in _bufferStart) buffer.Dispose();
        _bufferStart = [];
        _parameters.Dispose();
    }
}
