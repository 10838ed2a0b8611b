using System.Text.Json.Nodes;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Learning;

/// <summary>
/// Turns each domain's metrics and adapted parameters into a <see cref="DomainMetaUpdate"/> (DESIGN §7), keeping
/// per-domain state: a score EMA, the last score, a confidence earned over windows, the recent score deltas and
/// the previous parameters. Thread-safe (one lock; observations are small).
/// </summary>
/// <remarks>
/// confidence = decay * c + (1 - decay) * max(stability, floor), plus the boost when the score rose and this is
/// not the domain's first observation, clipped to [0, 1]; meta_lr = lr_min + (lr_max - lr_min) * confidence (the
/// new one). At the defaults a first update has confidence &lt;= 0.1, below the validator's minimum: trust is
/// earned over a few windows.
/// </remarks>
public sealed class DomainMetaLearner
{
    private readonly Dictionary<string, DomainState> _domains = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;

    public DomainMetaLearner(DomainLearnerConfig? config = null, TimeProvider? time = null)
    {
        Config = (config ?? DomainLearnerConfig.Default).Validated();
        _time = time ?? TimeProvider.System;
    }

    public DomainLearnerConfig Config { get; }

    /// <summary>Observes a domain with metrics read from a JSON payload (meta_score, gain_p50, stability_avg).</summary>
    public DomainMetaUpdate Observe(string domainId, JsonObject? metrics, IReadOnlyDictionary<string, double> parameters) =>
        Observe(domainId, DomainMetrics.FromJson(metrics), parameters);

    /// <summary>
    /// Records one observation of <paramref name="domainId"/> and returns its update: keys = the parameter names
    /// in ordinal order; vector = the values (<c>interpolate</c>) or meta_lr * (value - previous value, 0 where the
    /// previous observation lacked the name) (<c>delta</c>); reward = the score.
    /// Non-finite parameter values are carried through (the validator's <c>non_finite</c> rule refuses them).
    /// </summary>
    /// <exception cref="InvalidInputException">The domain id is empty, the parameters are missing or a metric is NaN
    /// or infinite (<see cref="DomainMetrics.CheckFinite"/>; nothing changes).</exception>
    public DomainMetaUpdate Observe(string domainId, DomainMetrics metrics, IReadOnlyDictionary<string, double> parameters)
    {
        if (string.IsNullOrEmpty(domainId)) throw new InvalidInputException("domain_id: must be a non-empty string");
        ArgumentNullException.ThrowIfNull(metrics);
        metrics.CheckFinite($"domain \"{domainId}\" metrics");
        if (parameters is null) throw new InvalidInputException($"domain \"{domainId}\": parameters are missing");

        var keys = parameters.Keys.Order(StringComparer.Ordinal).ToArray();
        var score = metrics.Score;
        lock (_gate)
        {
            if (!_domains.TryGetValue(domainId, out var state))
            {
                state = new DomainState();
                _domains[domainId] = state;
            }
            var first = state.Observations == 0;

            state.EmaScore = first ? score : (1 - Config.EmaAlpha) * state.EmaScore!.Value + Config.EmaAlpha * score;
            var scoreDelta = score - state.LastScore;
            state.History.Enqueue(scoreDelta);
            while (state.History.Count > Config.MaxHistory) state.History.Dequeue();

            var confidence = Config.ConfidenceDecay * state.Confidence
                + (1 - Config.ConfidenceDecay) * Math.Max(metrics.Stability, Config.StabilityFloor);
            if (scoreDelta > 0 && !first) confidence += Config.ConfidenceBoost;
            state.Confidence = Math.Clamp(confidence, 0.0, 1.0);
            var metaLr = Config.MetaLrMin + (Config.MetaLrMax - Config.MetaLrMin) * state.Confidence;

            var vector = new float[keys.Length];
            for (var i = 0; i < keys.Length; i++)
            {
                var value = parameters[keys[i]];
                vector[i] = Config.UpdateRule == UpdateRule.Delta
                    ? (float)(metaLr * (value - state.PreviousParams.GetValueOrDefault(keys[i], 0.0)))
                    : (float)value;
            }

            state.PreviousParams = new Dictionary<string, double>(parameters, StringComparer.Ordinal);
            state.LastScore = score;
            state.Observations++;
            return new DomainMetaUpdate(domainId, keys, vector, score, state.Confidence, _time.GetUtcNow(), scoreDelta);
        }
    }

    /// <summary>The state of <paramref name="domainId"/>; null when it was never observed.</summary>
    public DomainLearnerState? State(string domainId)
    {
        lock (_gate)
        {
            return _domains.TryGetValue(domainId, out var s)
                ? new DomainLearnerState(s.EmaScore, s.LastScore, s.Confidence, s.History.Count, s.Observations)
                : null;
        }
    }

    /// <summary>A copy of every domain's whole state (ordinal order), for saving (README "Storage", beside DESIGN §11's files:
    /// <c>learner_state.json</c>). <paramref name="observedSequences"/> gives each domain's newest observed pack
    /// sequence (the agent keeps it), saved with it.</summary>
    public IReadOnlyDictionary<string, SavedDomainLearner> Snapshot(IReadOnlyDictionary<string, long>? observedSequences = null)
    {
        var result = new SortedDictionary<string, SavedDomainLearner>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var (domain, s) in _domains)
            {
                long? sequence = observedSequences is not null && observedSequences.TryGetValue(domain, out var q) ? q : null;
                result[domain] = new SavedDomainLearner(s.EmaScore, s.LastScore, s.Confidence, [.. s.History],
                    new SortedDictionary<string, double>(s.PreviousParams, StringComparer.Ordinal), s.Observations, sequence);
            }
        }
        return result;
    }

    /// <summary>
    /// Replaces every domain's state with <paramref name="domains"/> (a <see cref="Snapshot"/> read back), so that
    /// the next observation of each decides as it would have without the restart. A history longer than this
    /// learner's max_history (saved under a larger one) keeps its newest deltas, as the next observation would.
    /// </summary>
    /// <exception cref="InvalidInputException">A domain id or a confidence is out of range, a score is not finite, or a
    /// domain's state, history or previous parameters are null (nothing changes).</exception>
    public void Restore(IReadOnlyDictionary<string, SavedDomainLearner> domains)
    {
        ArgumentNullException.ThrowIfNull(domains);
        var restored = new Dictionary<string, DomainState>(StringComparer.Ordinal);
        foreach (var (domain, saved) in domains)
        {
            if (string.IsNullOrEmpty(domain)) throw new InvalidInputException("learner state: a domain id is empty");
            // A state built in code (a caller's own store) may hold nulls the file never does: refused as any bad
            // state is (the agent then starts fresh learners), not a NullReferenceException half-way through.
            if (saved is null) throw new InvalidInputException($"learner state of \"{domain}\": missing (null)");
            if (saved.History is null) throw new InvalidInputException($"learner state of \"{domain}\": history: missing (null)");
            if (saved.PreviousParams is null) throw new InvalidInputException($"learner state of \"{domain}\": previous_params: missing (null)");
            if (!(saved.Confidence >= 0 && saved.Confidence <= 1))
                throw new InvalidInputException(FormattableString.Invariant($"learner state of \"{domain}\": confidence must be in [0, 1], got {saved.Confidence}"));
            if (saved.Observations < 0) throw new InvalidInputException(FormattableString.Invariant($"learner state of \"{domain}\": observations must be >= 0, got {saved.Observations}"));
            // The EMA starts from the first score: a domain with observations has one.
            if (saved.Observations > 0 && saved.EmaScore is null)
                throw new InvalidInputException(FormattableString.Invariant($"learner state of \"{domain}\": ema_score is missing after {saved.Observations} observations"));
            // Observe never leaves either non-finite: a NaN last score made the next score_delta NaN (the pack
            // refused), and a NaN EMA stays NaN for good.
            if (!double.IsFinite(saved.LastScore))
                throw new InvalidInputException(FormattableString.Invariant($"learner state of \"{domain}\": last_score: must be finite, got {saved.LastScore}"));
            if (saved.Observations > 0 && !double.IsFinite(saved.EmaScore!.Value))
                throw new InvalidInputException(FormattableString.Invariant($"learner state of \"{domain}\": ema_score: must be finite, got {saved.EmaScore}"));
            var state = new DomainState
            {
                EmaScore = saved.Observations > 0 ? saved.EmaScore : null,
                LastScore = saved.LastScore,
                Confidence = saved.Confidence,
                Observations = saved.Observations,
                PreviousParams = new Dictionary<string, double>(saved.PreviousParams, StringComparer.Ordinal),
            };
            foreach (var delta in saved.History.Skip(Math.Max(0, saved.History.Count - Config.MaxHistory))) state.History.Enqueue(delta);
            restored[domain] = state;
        }
        lock (_gate)
        {
            _domains.Clear();
            foreach (var (domain, state) in restored) _domains[domain] = state;
        }
    }

    /// <summary>The domains observed so far, in ordinal order.</summary>
    public IReadOnlyList<string> Domains
    {
        get
        {
            lock (_gate) return [.. _domains.Keys.Order(StringComparer.Ordinal)];
        }
    }

    private sealed class DomainState
    {
        public double? EmaScore;
        public double LastScore;
        public double Confidence;
        public long Observations;
        public readonly Queue<double> History = new();
        public Dictionary<string, double> PreviousParams = new(StringComparer.Ordinal);
    }
}
