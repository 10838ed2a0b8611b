using System.Text.Json.Nodes;
using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using Meta.Gpu.Telemetry;
using Meta.Gpu.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Learning;

/// <summary>
/// The learning agent on the bus (DESIGN §10, keyed lane): domains' policy packs become validated pending updates
/// (at most one per domain); each <c>processing_metrics</c> window feeds the scheduler, and when it fires the
/// pending updates are aggregated (§4, in domain id order), the optimizer steps the prior toward the aggregate
/// (§8) and rolls back on a reward drop, the global prior is merged and saved, and the agent publishes
/// <c>meta.telemetry</c>, <c>meta_rollback_active</c> (when it rolled back), <c>meta_prior_update</c> and
/// <c>meta_update</c>, in that order.
/// </summary>
/// <remarks>
/// <para>Events are handled one at a time, in arrival order: the agent is one subscriber of its three input topics
/// and every handling takes the same gate, publishes included. On the in-process bus that subscriber has one
/// queue, so arrival order is publish order across the topics too (a window's round takes the packs published
/// before it); over a broker it is each topic's order, the broker keeping none between subjects.</para>
/// <para>A malformed payload is refused (an <see cref="InvalidInputException"/>, which the bus logs and counts)
/// before anything changes. A round's input is read from the <c>processing_metrics</c> payload once
/// (<see cref="LearningRoundInput"/>) and each lane runs on it: the keyed lane here; a dense lane goes beside it in
/// <see cref="RunRoundAsync"/> and in <see cref="HandleAsync"/>'s topic switch.</para>
/// <para>Decisions where the design is silent: the global prior starts from the store's saved prior (empty when
/// none) and the optimizer starts from it too, with the learners' state saved with that prior (every domain's
/// learner, the newest observed pack sequences, the optimizer's beta and reward EMA; not its rollback copies), so a
/// restarted agent decides as the one that saved them would have; a failed save (the store's
/// <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/>: <see cref="IPriorStore"/>) is logged and the
/// round still publishes (the prior in memory did move, and the next round saves it again); so does one whose
/// acknowledgement the bus fails to give after the save (logged, the others still given: the broker's copy of that
/// message is not newer than the saved sequence and is acknowledged when it comes). A round with nothing to apply, and
/// a clean stop, save the prior as it is with the learners' state when an observation changed it since the last
/// save (publishing nothing; a round only beside a prior already saved, a stop also the first one). A clean stop
/// saves the pending updates too: an agent restarted over the same store holds them pending again, and nothing
/// depends on the order in which the broker delivers them again (their packs stay unacknowledged, for a successor
/// over another store; over the same one the copy is not newer, and is held with the domain's pending pack).</para>
/// </remarks>
public sealed class MetaLearningAgent : IAsyncDisposable
{
    private static readonly string[] ControllerKnobs = ["tau", "gamma_diversity"];
    private static readonly string[] EvaluatorKnobs = ["g_min", "lambda_ci"];

    private readonly IEventBus _bus;
    private readonly IPriorStore _store;
    private readonly ILogger _logger;
    private readonly IDeviceTelemetrySource? _deviceTelemetry;
    private readonly TimeProvider _time;
    private readonly SubscriberLifetime _lifetime = new();
    private readonly Lock _stopTailLock = new();

    /// <summary>The acknowledgements of the first completed stop, which later and concurrent stops wait for.</summary>
    private Task? _stopTail;
    private readonly SortedDictionary<string, PendingPolicyPack> _pending = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _lastAppliedSequences = new(StringComparer.Ordinal);
    // The newest sequence the learner has observed per domain, refused packs included: a redelivered copy of a
    // refused pack would otherwise be observed a second time (score_delta 0, confidence higher) and pass.
    private readonly Dictionary<string, long> _lastObservedSequences = new(StringComparer.Ordinal);
    // Acknowledgements of packs a round consumed whose save failed: given after the next successful save.
    private readonly List<IDeliveryAcknowledgement> _awaitingSave = [];
    // (domain, sequence) of every durable pack observed since the last successful save: a broker's copy of one is held until
    // that save, whatever the domain's applied sequence has become since (two rounds whose saves failed applied the
    // first's pack and then a newer one; its copy, acknowledged at once, was lost to a crash before the next save).
    private readonly HashSet<(string Domain, long Sequence)> _observedUnsaved = [];
    private long _stalePacks;
    private bool _lastSaveSucceeded = true;
    // An observation moved the learners since the last successful save: a round with nothing to apply, and a clean
    // stop, still save them (a refused pack's acknowledgement waits for that save).
    private bool _stateChanged;
    // The store holds a prior (loaded at start or saved since): a round saves the learners' state alone only beside
    // one, never creating a prior where none was saved (DESIGN §10: a round that applies nothing saves nothing new).
    private bool _priorSaved;
    private readonly SortedDictionary<string, double> _globalPrior = new(StringComparer.Ordinal);
    private bool _started;
    // 1 from the moment a start is under way: two starts at once both passed the _started check (it is set only
    // after the store is loaded) and both subscribed, so every event was handled twice. Given back by a start that
    // fails before it is marked started, so that a retry can start cleanly.
    private int _startClaimed;

    /// <param name="bus">The bus to subscribe to and publish on.</param>
    /// <param name="config">Settings (default: the design's).</param>
    /// <param name="store">Where the global prior is saved (default: in memory; see the overload taking a
    /// <see cref="MetaStorageManager"/> for the durable store).</param>
    /// <param name="time">Clock for update and telemetry timestamps (default: the system clock).</param>
    /// <param name="schedulerRandom">Uniform [0, 1) draws for the scheduler's jitter (default: shared random).</param>
    /// <param name="logger">Where refused updates and storage failures are reported.</param>
    /// <param name="deviceTelemetry">Read for vram_high (the scheduler's and the DRG profile's) when a
    /// <c>processing_metrics</c> payload lacks it (DESIGN §13); one reading serves both. Null: such a payload reads
    /// as not vram_high.</param>
    /// <param name="denseBackend">The dense lane's compute backend (the caller keeps ownership). Null: the agent
    /// creates a <c>cpu</c> backend and disposes it when it stops.</param>
    public MetaLearningAgent(IEventBus bus, MetaLearningConfig? config = null, IPriorStore? store = null,
        TimeProvider? time = null, Func<double>? schedulerRandom = null, ILogger<MetaLearningAgent>? logger = null,
        IDeviceTelemetrySource? deviceTelemetry = null, IComputeBackend? denseBackend = null)
    {
        _deviceTelemetry = deviceTelemetry;
        ArgumentNullException.ThrowIfNull(bus);
        _bus = bus;
        Config = (config ?? MetaLearningConfig.Default).Validated();
        _store = store ?? new InMemoryPriorStore();
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        Learner = new DomainMetaLearner(Config.Domain, _time);
        Validator = new MetaPacketValidator(Config.Validator);
        Scheduler = new MetaScheduler(Config.Scheduler, schedulerRandom);
        Aggregator = new CrossDomainMetaAggregator(Config.Cross);
        Optimizer = new OnlineReptileOptimizer(Config.Optimizer);
        // The dense prior is saved beside the keyed one when the store is the durable one.
        Dense = new DenseLearningLane(Config, denseBackend ?? new CpuBackend(), ownsBackend: denseBackend is null,
            (_store as StoragePriorStore)?.Storage, Validator, _logger);
    }

    /// <summary>An agent whose global prior lives in <paramref name="storage"/> (atomic, with backups): loaded at
    /// start, saved after every round.</summary>
    public MetaLearningAgent(IEventBus bus, MetaLearningConfig? config, MetaStorageManager storage,
        TimeProvider? time = null, Func<double>? schedulerRandom = null, ILogger<MetaLearningAgent>? logger = null,
        IComputeBackend? denseBackend = null)
        : this(bus, config, new StoragePriorStore(storage), time, schedulerRandom, logger, denseBackend: denseBackend)
    {
    }

    public MetaLearningConfig Config { get; }

    public DomainMetaLearner Learner { get; }

    public MetaPacketValidator Validator { get; }

    public MetaScheduler Scheduler { get; }

    public CrossDomainMetaAggregator Aggregator { get; }

    /// <summary>The keyed prior's optimizer (replaced at start when the store holds a saved prior).</summary>
    public OnlineReptileOptimizer Optimizer { get; private set; }

    /// <summary>The dense lane (DESIGN §10): its prior, optimizer, round and sequences.</summary>
    public DenseLearningLane Dense { get; }

    /// <summary>Keyed rounds taken (aggregations that reached the optimizer).</summary>
    public long Rounds { get; private set; }

    /// <summary>A copy of the global prior: every key ever seen, with its latest value.</summary>
    public IReadOnlyDictionary<string, double> GlobalPrior
    {
        get
        {
            lock (_globalPrior) return new SortedDictionary<string, double>(_globalPrior, StringComparer.Ordinal);
        }
    }

    /// <summary>A copy of the last applied policy-pack sequence per domain (domains that sent one).</summary>
    public IReadOnlyDictionary<string, long> LastAppliedSequences
    {
        get
        {
            lock (_pending) return new SortedDictionary<string, long>(_lastAppliedSequences, StringComparer.Ordinal);
        }
    }

    /// <summary>Policy packs ignored because their sequence was not newer than the domain's last applied, pending
    /// or observed one (redeliveries, replays).</summary>
    public long StalePacks => Interlocked.Read(ref _stalePacks);

    /// <summary>The domains with a pending update, in ordinal order.</summary>
    public IReadOnlyList<string> PendingDomains
    {
        get
        {
            lock (_pending) return [.. _pending.Keys];
        }
    }

    /// <summary>Loads the saved prior (when the store has one) with the learners' state saved with it (every
    /// domain's learner, the optimizer's beta and reward EMA, the newest observed pack sequences: the agent decides
    /// as the one that saved them would have), and subscribes to the input topics.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_lifetime.Stopped, this);
        if (Interlocked.Exchange(ref _startClaimed, 1) != 0) throw new InvalidOperationException("the learning agent is already started");
        // The start holds the handlers' gate: a host feeding HandleAsync meanwhile ran a round between the load and
        // the restore, which then put back the optimizer of the loaded prior (the round's step lost, its pack's
        // sequence applied).
        // (Not across the subscribe: a stop waiting for the gate would wait for a bus slow to subscribe.)
        ObjectDisposedException.ThrowIf(!_lifetime.EnterForStart(), this);
        try
        {
            LoadAndRestore(cancellationToken);
        }
        finally
        {
            _lifetime.Exit();
        }
        // One subscriber for the three: a window's round takes the packs published before it (§10: events are
        // handled one at a time, in arrival order), which three queues raced for.
        _lifetime.Add(_bus.Subscribe([LearningTopics.PolicyPack, LearningTopics.DenseUpdate, LearningTopics.ProcessingMetrics], HandleAsync), this);
        return Task.CompletedTask;
    }

    private void LoadAndRestore(CancellationToken cancellationToken)
    {
        SavedPrior? state;
        IReadOnlyDictionary<string, double>? saved;
        OnlineReptileOptimizer? optimizer;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();

            // A store whose prior and backups are all unusable throws here: the agent does not start over a trained
            // prior from scratch.
            state = _store.LoadPriorWithSequences();
            saved = state?.Prior;
            // Built before anything is taken: a prior the optimizer refuses (a non-finite value) fails the start with the
            // agent as it was, so a retry after the store is mended starts cleanly instead of "already started".
            optimizer = saved is null ? null : new OnlineReptileOptimizer(Config.Optimizer, saved);
            // The dense lane loads before anything is marked started: a dense file whose copies are all unusable
            // throws here, and a retry (after the files are mended) starts cleanly instead of "already started".
            Dense.Load();
        }
        catch
        {
            Volatile.Write(ref _startClaimed, 0);
            throw;
        }
        _started = true;
        if (state is not null)
            lock (_pending)
                foreach (var (domain, sequence) in state.LastSequences) _lastAppliedSequences[domain] = sequence;
        if (saved is not null)
        {
            _priorSaved = true;
            lock (_globalPrior)
                foreach (var (key, value) in saved) _globalPrior[key] = value;
            Optimizer = optimizer!;
        }
        if (state?.Learners is { } learners) RestoreLearners(learners, state.LastSequences);
    }

    /// <summary>The learners' state saved with the prior, with the pending updates a clean stop saved that the validator still accepts (held again;
    /// the broker's copies of their packs, not newer, are held with them): a state the learner refuses (a hand-edited file whose checksum was
    /// recomputed) is logged and left out, the learners starting fresh and nothing pending, rather than stopping
    /// the agent from starting over a good prior.</summary>
    private void RestoreLearners(SavedLearnerState learners, IReadOnlyDictionary<string, long> appliedSequences)
    {
        List<PendingPolicyPack> pending;
        try
        {
            pending = RestoredPending(learners, appliedSequences);
            Learner.Restore(learners.Domains);
            Optimizer.RestoreState(learners.Optimizer.Beta, learners.Optimizer.RewardEma);
        }
        catch (InvalidInputException e)
        {
            Learner.Restore(new Dictionary<string, SavedDomainLearner>());
            Optimizer = new OnlineReptileOptimizer(Config.Optimizer, GlobalPrior);
            LogLearnersNotRestored(_logger, e.Message, null);
            return;
        }
        lock (_pending)
        {
            foreach (var (domain, learner) in learners.Domains)
                if (learner.LastObservedSequence is { } sequence) _lastObservedSequences[domain] = sequence;
            foreach (var pack in pending)
            {
                // The validator may have been tightened across the restart (DESIGN §12): a pack it refuses now is
                // refused as on arrival, while what observing it taught the learner stays.
                var broken = Validator.Validate(pack.Update);
                if (broken.Count > 0) LogRefused(_logger, pack.Update.DomainId, string.Join(", ", broken), null);
                else _pending[pack.Update.DomainId] = pack;
            }
        }
    }

    /// <summary>The saved pending updates, holding no acknowledgement (those of the stopped agent's deliveries are
    /// gone; the broker's copies join them as they come).</summary>
    /// <exception cref="InvalidInputException">A pending update whose sequence is not newer than its domain's
    /// applied one (the round that applied it would have consumed it), or a null part of the state.</exception>
    private static List<PendingPolicyPack> RestoredPending(SavedLearnerState learners, IReadOnlyDictionary<string, long> appliedSequences)
    {
        // A state from a store of the caller's own may hold nulls the file never does: refused here (the learners
        // start fresh), where they threw a NullReferenceException after the agent was marked started.
        if (learners.Domains is null) throw new InvalidInputException("learner state: domains: missing (null)");
        if (learners.Optimizer is null) throw new InvalidInputException("learner state: optimizer: missing (null)");
        var restored = new List<PendingPolicyPack>();
        foreach (var (domain, saved) in learners.Pending ?? new Dictionary<string, SavedPendingPack>())
        {
            if (DomainIds.Problem(domain) is { } badId) throw new InvalidInputException($"learner state: pending domain id: {badId}");
            if (saved is null) throw new InvalidInputException($"learner state: pending update of \"{domain}\": missing (null)");
            if (saved.Keys is null) throw new InvalidInputException($"learner state: pending update of \"{domain}\": keys: missing (null)");
            if (saved.Vector is null) throw new InvalidInputException($"learner state: pending update of \"{domain}\": vector: missing (null)");
            if (saved.Sequence is { } sequence && appliedSequences.TryGetValue(domain, out var applied) && sequence <= applied)
                throw new InvalidInputException(FormattableString.Invariant($"learner state: pending update of \"{domain}\": sequence {sequence} is not newer than the applied {applied}"));
            var update = new DomainMetaUpdate(domain, saved.Keys, [.. saved.Vector], saved.Reward, saved.Confidence, saved.Timestamp, saved.ScoreDelta);
            restored.Add(new PendingPolicyPack(update, saved.Sequence, Acknowledgement: null));
        }
        return restored;
    }

    /// <summary>What the next save keeps beside the prior: every domain's learner with its newest observed pack
    /// sequence, the optimizer's beta and reward EMA (not its rollback copies), and the pending updates (only a
    /// clean stop saves with any: a round consumes them before it saves).</summary>
    /// <remarks>A pending pack is saved observed and pending, not as a message to observe again: the broker
    /// delivers an unacknowledged message again only after its ack wait, behind the domain's newer packs, which
    /// would make it not newer and never observed.</remarks>
    private SavedLearnerState LearnerState()
    {
        Dictionary<string, long> observed;
        SortedDictionary<string, SavedPendingPack> pending = new(StringComparer.Ordinal);
        lock (_pending)
        {
            observed = new Dictionary<string, long>(_lastObservedSequences, StringComparer.Ordinal);
            foreach (var (domain, pack) in _pending)
            {
                var u = pack.Update;
                pending[domain] = new SavedPendingPack(pack.Sequence, [.. u.Keys], [.. u.Vector], u.Reward, u.Confidence, u.Timestamp, u.ScoreDelta);
            }
        }
        var domains = new SortedDictionary<string, SavedDomainLearner>(StringComparer.Ordinal);
        foreach (var (domain, learner) in Learner.Snapshot(observed)) domains[domain] = learner;
        return new SavedLearnerState(domains, new SavedOptimizerState(Optimizer.Beta, Optimizer.RewardEma), pending);
    }

    /// <summary>Unsubscribes, then waits for the event being handled (if any) to finish, saves what the learners
    /// observed since the last save and the pending updates (each lane with its prior, unchanged; a failed save is
    /// logged as a round's is), releases the dense lane, and acknowledges what that save covered (not the pending
    /// packs: a successor over another store needs them again). Idempotent; a stop whose wait was cancelled is done again by the next call.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifetime.StopAsync(() =>
        {
            try
            {
                // Only an agent that loaded the store saves into it: one that never started would overwrite it.
                if (_started)
                {
                    // Before any prior was saved, the stop writes one (the prior as it is) only when some domain's
                    // learner has something to keep.
                    if (!_lastSaveSucceeded || (_stateChanged && (_priorSaved || LearnerState().Domains.Count > 0))) SavePrior(GlobalPrior);
                    Dense.SaveChanges();
                }
            }
            finally
            {
                Dense.Dispose();
            }
        }, cancellationToken).ConfigureAwait(false);
        // Nothing is handled any more. The acknowledgements run once, and a stop that comes while they run waits
        // for them: a DisposeAsync returning early let its host tear the bus down under the first stop's.
        Task tail;
        lock (_stopTailLock) tail = _stopTail ??= AcknowledgeAfterStopAsync();
        await tail.ConfigureAwait(false);
    }

    private async Task AcknowledgeAfterStopAsync()
    {
        await AcknowledgeSavedAsync().ConfigureAwait(false);
        await AcknowledgeDenseReleasedAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>Handles one event, waiting for the one in progress first; after <see cref="StopAsync"/> it
    /// ignores events. The bus calls it; a host that feeds events itself may call it directly, after
    /// <see cref="StartAsync"/>.</summary>
    /// <exception cref="InvalidOperationException">The agent was never started: its first round would save over the
    /// prior its store holds, which only <see cref="StartAsync"/> loads.</exception>
    public async ValueTask HandleAsync(BusEvent busEvent, CancellationToken cancellationToken)
    {
        // After a stop (the dense lane disposed) a late delivery is not taken in: no round, no save.
        if (!await _lifetime.EnterAsync(cancellationToken).ConfigureAwait(false)) return;
        try
        {
            // A round of an agent that never loaded its store would save over the prior the store holds.
            if (!_started) throw new InvalidOperationException("the learning agent is not started: StartAsync loads the saved prior first (a round before it would save over that prior)");
            switch (busEvent.Topic)
            {
                case LearningTopics.PolicyPack:
                    await OnPolicyPackAsync(BusPayload.AsObject(busEvent.Payload, busEvent.Topic)).ConfigureAwait(false);
                    break;
                case LearningTopics.DenseUpdate:
                    await OnDenseUpdateAsync(DenseUpdate.FromPayload(busEvent.Payload, busEvent.Topic)).ConfigureAwait(false);
                    break;
                case LearningTopics.ProcessingMetrics:
                    await OnProcessingMetricsAsync(BusPayload.AsObject(busEvent.Payload, busEvent.Topic), cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new InvalidInputException($"{busEvent.Topic}: not a topic the learning agent handles");
            }
        }
        finally
        {
            _lifetime.Exit();
        }
    }

    /// <summary>{domain_id, metrics, controller, evaluator}: params = controller then evaluator (a name in both:
    /// the evaluator's wins); observe; a valid update replaces the domain's pending one, an invalid one changes
    /// nothing pending.</summary>
    /// <remarks>An optional <c>sequence</c> (per domain, increasing; DESIGN §10) makes redelivery harmless: a pack
    /// whose sequence is not newer than the domain's last applied, pending or observed one (a refused pack's copy
    /// too) is ignored (debug log, counted in <see cref="StalePacks"/>) before it is observed. A pack without one is taken as before. On a bus with
    /// durable deliveries every observed pack stays unacknowledged until a save holds its observation: the accepted
    /// pack's until the round that applies it has saved (a clean stop saves it pending, for a restart over the same store), and with it the pack it replaces and the domain's packs
    /// refused while it is pending; a pack refused while none is pending until the next save (a round's, applying
    /// or not, or the stop's). A crash before then delivers them again and they are observed again, once.</remarks>
    private async ValueTask OnPolicyPackAsync(JsonObject payload)
    {
        const string topic = LearningTopics.PolicyPack;
        var domainId = JsonRead.String(payload, "domain_id", "", topic);
        if (DomainIds.Problem(domainId) is { } badId) throw new InvalidInputException($"{topic}.domain_id: {badId}");
        var metrics = DomainMetrics.FromJson(JsonRead.Object(payload, "metrics", topic), $"{topic}.metrics");
        metrics.CheckFinite($"{topic}.metrics");
        var parameters = new Dictionary<string, double>(StringComparer.Ordinal);
        DomainParameters.ReadInto(JsonRead.Object(payload, "controller", topic), $"{topic}.controller", parameters);
        DomainParameters.ReadInto(JsonRead.Object(payload, "evaluator", topic), $"{topic}.evaluator", parameters);
        var sequence = ReadSequence(payload, domainId);

        if (sequence is { } seq)
        {
            lock (_pending)
            {
                var applied = _lastAppliedSequences.GetValueOrDefault(domainId, -1);
                var pending = _pending.TryGetValue(domainId, out var p) ? p : null;
                var observed = _lastObservedSequences.GetValueOrDefault(domainId, -1);
                var newest = Math.Max(Math.Max(applied, pending?.Sequence ?? -1), observed);
                if (seq <= newest)
                {
                    Interlocked.Increment(ref _stalePacks);
                    LogStale(_logger, domainId, seq, newest, null);
                    // A copy the broker redelivered (its ack wait ran out before the round) would acknowledge the
                    // message itself when this delivery is acknowledged, so it is held as the pack it copies is:
                    // with the domain's pending pack when it is that pack or one observed after the last applied
                    // (superseded or refused, held with it); until the next save when it was observed (refused)
                    // and not saved yet, or applied and the last save failed. An older one goes at once: what it
                    // changed is saved.
                    if (pending is not null && seq > applied)
                        _pending[domainId] = pending with { Acknowledgement = JointAcknowledgement.Of(pending.Acknowledgement, DeliveryAcknowledgement.Defer()) };
                    else if (((seq > applied && _stateChanged) || (seq == applied && !_lastSaveSucceeded) || _observedUnsaved.Contains((domainId, seq)))
                        && DeliveryAcknowledgement.Defer() is { } copy)
                        _awaitingSave.Add(copy);
                    return;
                }
            }
        }

        var update = Learner.Observe(domainId, metrics, parameters);
        _stateChanged = true;
        if (sequence is { } observedSequence)
        {
            lock (_pending)
            {
                _lastObservedSequences[domainId] = observedSequence;
                // Only a durable delivery has copies (the in-process bus would only grow the set).
                if (DeliveryAcknowledgement.Current is not null) _observedUnsaved.Add((domainId, observedSequence));
            }
        }
        var broken = Validator.Validate(update);
        // Nothing after this point throws: a deferred acknowledgement is always given later.
        var acknowledgement = DeliveryAcknowledgement.Defer();
        if (broken.Count > 0)
        {
            LogRefused(_logger, domainId, string.Join(", ", broken), null);
            // The observation moved the learner: the pack is acknowledged once a save holds it (with the domain's
            // pending pack, whose save covers the domain; else the next save, a round's or the stop's).
            if (acknowledgement is null) return;
            lock (_pending)
            {
                if (_pending.TryGetValue(domainId, out var held))
                    _pending[domainId] = held with { Acknowledgement = JointAcknowledgement.Of(held.Acknowledgement, acknowledgement) };
                else
                    _awaitingSave.Add(acknowledgement);
            }
            return;
        }
        lock (_pending)
        {
            // The pack replaced moved the learner too: acknowledged with this one, by the save that covers both.
            var replaced = _pending.TryGetValue(domainId, out var r) ? r.Acknowledgement : null;
            _pending[domainId] = new PendingPolicyPack(update, sequence, JointAcknowledgement.Of(acknowledgement, replaced));
        }
    }

    /// <summary>A dense update: on a durable bus an accepted one stays unacknowledged until the dense round that
    /// consumes it has saved (DESIGN §10), and so does a redelivered copy of it; a refused one is acknowledged at
    /// once (redelivery would change nothing).</summary>
    private async ValueTask OnDenseUpdateAsync(DenseUpdate update)
    {
        // The lane takes the acknowledgement whatever it decides, and releases what may be given now.
        Dense.Accept(update, DeliveryAcknowledgement.Defer());
        await AcknowledgeDenseReleasedAsync().ConfigureAwait(false);
    }

    private ValueTask AcknowledgeDenseReleasedAsync() => AcknowledgeAllAsync(Dense.TakeReleasedAcknowledgements());

    /// <summary>Gives every acknowledgement in turn. One that throws (a bus of the caller's own whose broker
    /// connection is gone) is logged and the rest are still given, and the round goes on to publish: what each
    /// acknowledges is saved, so the broker's copy of the failed one comes back not newer than its saved sequence and
    /// is acknowledged then.</summary>
    private async ValueTask AcknowledgeAllAsync(IReadOnlyList<IDeliveryAcknowledgement> acknowledgements)
    {
        foreach (var acknowledgement in acknowledgements)
        {
            try
            {
                await acknowledgement.AcknowledgeAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                LogAcknowledgeFailed(_logger, e.Message, e);
            }
        }
    }

    /// <summary>The optional <c>sequence</c>: a whole number >= 0, or null when absent.</summary>
    private static long? ReadSequence(JsonObject payload, string domainId) => SequenceNumber.Read(payload, LearningTopics.PolicyPack, domainId);

    private async ValueTask OnProcessingMetricsAsync(JsonObject payload, CancellationToken cancellationToken)
    {
        // Read everything first: a malformed payload changes nothing (not even the window count).
        var round = LearningRoundInput.FromProcessingMetrics(payload, Config.Scheduler.LatencyTargetMs);
        if (_deviceTelemetry is not null && payload["vram_high"] is null)
        {
            var vramHigh = VramHighReading.From(null, _deviceTelemetry, _logger);
            round = round with { Drg = round.Drg with { VramHigh = vramHigh }, Scheduler = round.Scheduler with { VramHigh = vramHigh } };
        }
        Scheduler.RecordWindow();
        // Always asked: it adapts the interval and resets the count even when nothing is pending.
        if (!Scheduler.ShouldUpdate(round.Scheduler)) return;
        await RunRoundAsync(round, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One scheduled round: each lane in turn on the same input.</summary>
    private async ValueTask RunRoundAsync(LearningRoundInput round, CancellationToken cancellationToken)
    {
        try
        {
            await RunKeyedRoundAsync(round, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception keyedFailure)
        {
            // The keyed lane failed (a publish the bus refused, after its save): the dense lane still takes the
            // window's round, which the scheduler has spent (its pending updates otherwise waited for a later
            // window, judged on that window's reward, or were superseded unapplied). The caller sees the failure.
            try
            {
                await RunDenseRoundAsync(round, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception denseFailure) when (denseFailure is not OperationCanceledException || keyedFailure is not OperationCanceledException)
            {
                throw new AggregateException(keyedFailure, denseFailure);
            }
            throw;
        }
        await RunDenseRoundAsync(round, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The dense lane's round; publishes <c>meta_dense_prior</c> when it stepped, after the keyed lane's
    /// events.</summary>
    private async ValueTask RunDenseRoundAsync(LearningRoundInput round, CancellationToken cancellationToken)
    {
        var payload = Dense.RunRound(round);
        await AcknowledgeDenseReleasedAsync().ConfigureAwait(false);
        if (payload is null) return;
        await _bus.PublishAsync(LearningTopics.MetaDensePrior, payload, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask RunKeyedRoundAsync(LearningRoundInput round, CancellationToken cancellationToken)
    {
        List<DomainUpdateInput>? updates = null;
        lock (_pending)
        {
            if (_pending.Count > 0) updates = _pending.Values.Select(p => p.Update.ToAggregationInput()).ToList(); // domain id order
        }
        if (updates is null)
        {
            // Nothing to apply, nothing published; what the learners observed since the last save (refused packs)
            // is saved with the prior as it is, and then acknowledged.
            if ((_stateChanged && _priorSaved) || !_lastSaveSucceeded)
            {
                SavePrior(GlobalPrior);
                await AcknowledgeSavedAsync().ConfigureAwait(false);
            }
            return;
        }

        // An aggregation that throws consumes nothing: the packs stay pending, their acknowledgements held.
        var aggregate = Aggregator.Aggregate(updates);
        var sequencesMoved = false;
        lock (_pending)
        {
            // Every pending pack is consumed by this round, taking part or not: its sequence is applied.
            foreach (var (domain, pack) in _pending)
            {
                if (pack.Sequence is { } sequence)
                {
                    _lastAppliedSequences[domain] = sequence;
                    sequencesMoved = true;
                }
                if (pack.Acknowledgement is { } acknowledgement) _awaitingSave.Add(acknowledgement);
            }
            _pending.Clear();
        }
        if (aggregate.Keys.Count == 0)
        {
            // The prior did not move; the consumed sequences, and what a failed save left unsaved, are still saved
            // before their packs are acknowledged.
            if (sequencesMoved || !_lastSaveSucceeded) SavePrior(GlobalPrior);
            await AcknowledgeSavedAsync().ConfigureAwait(false);
            return;
        }

        Optimizer.Apply(aggregate.Vector, aggregate.Keys, round.Reward, round.Drg);
        var rolledBack = Optimizer.ShouldRollback(round.Reward);
        if (rolledBack) Optimizer.Rollback();
        Rounds++;

        SortedDictionary<string, double> prior;
        lock (_globalPrior)
        {
            foreach (var (key, value) in Optimizer.Prior) _globalPrior[key] = value;
            prior = new SortedDictionary<string, double>(_globalPrior, StringComparer.Ordinal);
        }
        var storageBytes = SavePrior(prior);
        await AcknowledgeSavedAsync().ConfigureAwait(false);

        var snapshot = MetaMetrics.BuildSnapshot(round.Reward, aggregate, Config.Scheduler.UpdateIntervalWindows,
            Optimizer.RewardEma, round.LatencyMs, storageBytes, _time.GetUtcNow());
        await MetaMetrics.PublishAsync(_bus, snapshot, cancellationToken).ConfigureAwait(false);
        if (rolledBack)
        {
            await _bus.PublishAsync(LearningTopics.MetaRollbackActive,
                Wire(new JsonObject { ["source"] = "optimizer", ["reward"] = WireJson.Number(round.Reward) }), cancellationToken).ConfigureAwait(false);
        }
        await _bus.PublishAsync(LearningTopics.MetaPriorUpdate, Wire(PriorUpdate(prior)), cancellationToken).ConfigureAwait(false);
        await _bus.PublishAsync(LearningTopics.MetaUpdate,
            Wire(new JsonObject { ["prior"] = Map(prior), ["meta"] = aggregate.Meta.ToJson() }), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Saves the prior with the last applied pack sequences (one atomic write), after the learners' state
    /// that belongs to it (the store orders the two so that a crash between them leaves a pair the next start
    /// accepts); returns the store's size afterwards (0 when the save failed, which is logged).</summary>
    private long SavePrior(IReadOnlyDictionary<string, double> prior)
    {
        try
        {
            _store.SavePrior(prior, LastAppliedSequences, LearnerState());
            lock (_pending) _observedUnsaved.Clear();
            _lastSaveSucceeded = true;
            _stateChanged = false;
            _priorSaved = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _lastSaveSucceeded = false;
            LogSaveFailed(_logger, e);
            return 0;
        }
        // Outside the save's error handling: a file that vanishes while the root is measured does not make a
        // committed save count as failed (its acknowledgements would be held).
        try
        {
            return _store.SizeBytes();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogSizeFailed(_logger, e.Message, null);
            return 0;
        }
    }

    /// <summary>After a round: acknowledges the packs it consumed (and any left from a failed save), unless the last
    /// save failed, in which case they wait for the next successful one (a round that needed no save of its own
    /// saves then too).</summary>
    private async ValueTask AcknowledgeSavedAsync()
    {
        if (!_lastSaveSucceeded) return;
        IDeliveryAcknowledgement[] ready;
        lock (_pending)
        {
            ready = [.. _awaitingSave];
            _awaitingSave.Clear();
        }
        await AcknowledgeAllAsync(ready).ConfigureAwait(false);
    }

    /// <summary>{controller {tau, gamma_diversity}, evaluator {g_min, lambda_ci}}, each with the knobs the global
    /// prior has (a section may be empty).</summary>
    private static JsonObject PriorUpdate(IReadOnlyDictionary<string, double> prior)
    {
        static JsonObject Section(IReadOnlyDictionary<string, double> prior, string[] knobs)
        {
            var section = new JsonObject();
            foreach (var knob in knobs)
                if (prior.TryGetValue(knob, out var value)) section[knob] = WireJson.Number(value);
            return section;
        }
        return new JsonObject { ["controller"] = Section(prior, ControllerKnobs), ["evaluator"] = Section(prior, EvaluatorKnobs) };
    }

    private static JsonObject Map(IReadOnlyDictionary<string, double> map)
    {
        var json = new JsonObject();
        foreach (var (key, value) in map) json[key] = WireJson.Number(value);
        return json;
    }

    /// <summary>The payload as it would arrive after a broker (parsed from its wire text), so that subscribers
    /// reading numbers as doubles work in process too.</summary>
    private static JsonObject Wire(JsonObject built) => (JsonObject)JsonNode.Parse(built.ToJsonString(WireJson.Options))!;

    private static readonly Action<ILogger, string, string, Exception?> LogRefused =
        LoggerMessage.Define<string, string>(LogLevel.Information, new EventId(1, "UpdateRefused"),
            "update of domain {DomainId} refused by the validator: {Rules}");

    private static readonly Action<ILogger, string, Exception?> LogLearnersNotRestored =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(5, "LearnerStateNotRestored"),
            "the saved learner state was not restored, the learners start fresh: {Reason}");

    private static readonly Action<ILogger, string, Exception?> LogSizeFailed =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(4, "StorageSizeFailed"),
            "the storage size could not be measured (meta_storage_mb reads 0 this round): {Reason}");

    private static readonly Action<ILogger, string, long, long, Exception?> LogStale =
        LoggerMessage.Define<string, long, long>(LogLevel.Debug, new EventId(3, "PolicyPackStale"),
            "policy pack of domain {DomainId} ignored: sequence {Sequence} is not newer than {Newest}");

    private static readonly Action<ILogger, string, Exception?> LogAcknowledgeFailed =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(6, "AcknowledgeFailed"),
            "acknowledging a saved delivery failed ({Reason}); the broker delivers it again and its copy, not newer than the saved sequence, is acknowledged then");

    private static readonly Action<ILogger, Exception?> LogSaveFailed =
        LoggerMessage.Define(LogLevel.Error, new EventId(2, "PriorSaveFailed"),
            "saving the global prior failed; the prior in memory moved and the next round saves it again");
}
