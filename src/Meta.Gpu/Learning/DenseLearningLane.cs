using System.Text.Json.Nodes;
using Meta.Gpu.Compute;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Learning;

/// <summary>
/// The agent's dense lane (DESIGN §10): validated dense updates, the newest per domain pending; on a scheduled
/// round they form a <see cref="DomainBatch"/> (domain id order) that goes through
/// <see cref="DenseCrossDomainAggregator"/> on the lane's backend and the <c>interpolate</c> Reptile step onto the
/// dense prior (<see cref="DenseReptileOptimizer"/>: its own beta, reward EMA and rollback copies).
/// </summary>
/// <remarks>
/// <para>The caller serialises calls (the agent's gate); <see cref="PendingDomains"/> and
/// <see cref="LastAppliedSequences"/> may be read from any thread meanwhile. Decisions where the design is silent: the first valid
/// update fixes D when nothing was saved; an update not newer than the domain's last applied or pending sequence
/// is ignored (logged at debug level: redelivery is normal); a refused update (validator rule or D mismatch) is
/// logged with its reason and changes nothing but the domain's last score. score_delta is the domain's score minus
/// the score of its previous newer-than-applied update, accepted or refused (0 before the first), as the keyed
/// learner computes it (§7: last_score moves on every observation, so a domain whose score jumps past
/// max_score_delta is refused once, not for good); a copy of an update (same sequence) is judged against the score
/// its first delivery was. A round whose aggregate has no participant takes
/// no step. The step counts as a round even when it is rolled back (as the keyed lane counts it).</para>
/// <para>Storage: with a <see cref="MetaStorageManager"/>, every step is saved with the last applied sequence of
/// every domain in one atomic file; a failed save is logged and the round still publishes.</para>
/// <para>Acknowledgements (a durable bus, §10): an accepted update keeps its delivery's acknowledgement until the
/// round that consumes it has saved the prior and the sequences, and so do the domain's updates it supersedes or that
/// are refused while it is pending (they moved the last score); an update refused while none is pending is held
/// until the next save (a round's, stepping or not, or a clean stop's; released at once before a dense prior is
/// saved, as the lane's state is saved only beside one); stale ones are released at once, except a broker's copy of a held one, held with
/// it (a copy of the applied one while its save is outstanding too). After a failed save they
/// wait for the next successful one; a round whose backend throws consumes nothing (its updates stay pending). The
/// lane does no I/O with them: the caller acknowledges what <see cref="TakeReleasedAcknowledgements"/> returns.</para>
/// <para>A domain id longer than the prior file takes (<see cref="DensePriorFile.MaxDomainIdBytes"/>) is refused:
/// every later save would fail on it.</para>
/// </remarks>
public sealed class DenseLearningLane : IDisposable
{
    public const string UpdateTopic = "federation.dense_update";
    public const string PriorTopic = "meta_dense_prior";

    private readonly MetaPacketValidator _validator;
    private readonly MetaStorageManager? _storage;
    private readonly ILogger _logger;
    private readonly bool _ownsBackend;
    private readonly OptimizerConfig _optimizerConfig;
    private readonly SortedDictionary<string, DenseUpdate> _pending = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _lastApplied = new(StringComparer.Ordinal);
    // Taken by every change of _pending and _lastApplied and by their public copies: a host (or a test) polls those
    // while the agent's gate serialises everything else, and the unlocked copy threw mid-change.
    private readonly Lock _mapsGate = new();
    private readonly Dictionary<string, ScoreObservation> _lastScore = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IDeliveryAcknowledgement> _pendingAcknowledgements = new(StringComparer.Ordinal);
    private readonly List<IDeliveryAcknowledgement> _awaitingSave = [];
    private readonly List<IDeliveryAcknowledgement> _released = [];
    // The domain's last score before its pending update was observed (none: never observed before): what a save made
    // while the update is pending keeps, since it is delivered again after a restart and observed then.
    private readonly Dictionary<string, ScoreObservation?> _beforePending = new(StringComparer.Ordinal);
    // The last save failed: the applied sequences are not on disk yet.
    private bool _unsaved;
    // Load has read the storage (or there is none to read): a lane used before it loads first (its first save
    // replaced the trained dense prior the storage held, which only the load reads).
    private bool _loaded;
    // Disposed (the agent stopped): nothing is taken in, run or saved any more (on a backend the caller owns, a round
    // after the stop still saved into the storage, which a successor may hold by then).
    private bool _disposed;
    // (domain, sequence) of every durable update observed since the last successful save: a broker's copy of one is held
    // until that save, whatever the domain's applied sequence has become since (two rounds whose saves failed applied
    // the first's update and then a newer one; its copy, acknowledged at once, was lost to a crash before the next
    // save).
    private readonly HashSet<(string Domain, long Sequence)> _observedUnsaved = [];
    // An observation moved a last score since the last successful save.
    private bool _stateChanged;
    // Storage holds a dense prior (loaded or saved since): the lane's state is saved alone only beside one, never
    // creating a dense prior before a round stepped.
    private bool _priorSaved;
    // The last round's batch, refilled by the next round of as many updates: a fresh N x D array each round cost
    // its page faults on first touch, many times the aggregation itself at 64 x 1M (a device backend keeps it
    // resident too).
    private DomainBatch? _batch;
    // The lane's copies of the updates the last round consumed, each taken again for the copy of a later update (as
    // is the copy of an update its domain's next one supersedes): a fresh D-long array per update faulted in 256 MB
    // a round at 64 x 1M, which cost more than the round itself. At most as many as that round consumed.
    private readonly Stack<float[]> _spareVectors = new();

    public DenseLearningLane(MetaLearningConfig config, IComputeBackend backend, bool ownsBackend, MetaStorageManager? storage,
        MetaPacketValidator validator, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        Backend = backend ?? throw new ArgumentNullException(nameof(backend));
        _ownsBackend = ownsBackend;
        _storage = storage;
        _validator = validator ?? throw new ArgumentNullException(nameof(validator));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        Aggregator = new DenseCrossDomainAggregator(backend, config.Cross);
        // The dense lane always interpolates (§10), whatever rule the knob lane uses.
        _optimizerConfig = config.Optimizer with { UpdateRule = UpdateRule.Interpolate };
    }

    public IComputeBackend Backend { get; }

    public DenseCrossDomainAggregator Aggregator { get; }

    /// <summary>The dense prior's optimizer; null until D is fixed (a saved prior or the first valid update).</summary>
    public DenseReptileOptimizer? Optimizer { get; private set; }

    /// <summary>Dense steps taken (saved and restored with the prior).</summary>
    public long Round { get; private set; }

    /// <summary>D, or null before it is fixed.</summary>
    public int? D => Optimizer?.Columns;

    /// <summary>A copy of the last applied sequence per domain.</summary>
    public IReadOnlyDictionary<string, long> LastAppliedSequences
    {
        get
        {
            lock (_mapsGate) return new SortedDictionary<string, long>(_lastApplied, StringComparer.Ordinal);
        }
    }

    /// <summary>The domains with a pending dense update, in ordinal order.</summary>
    public IReadOnlyList<string> PendingDomains
    {
        get
        {
            lock (_mapsGate) return [.. _pending.Keys];
        }
    }

    /// <summary>Loads the saved dense prior, its round and sequences (when storage holds one), and the lane's state
    /// saved with it: the optimizer's beta and reward EMA and every domain's last score (DESIGN §11). Once: a later
    /// call does nothing (the lane's state is then at least as new as the saved one), and <see cref="Accept"/>,
    /// <see cref="RunRound"/> and <see cref="SaveChanges"/> load first when it was not called (a round of a lane that
    /// never read its storage saved a fresh prior over the trained one).</summary>
    /// <exception cref="InvalidDataException">The dense file and every backup are unusable.</exception>
    public void Load()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_loaded) return;
        if (_storage?.LoadDensePrior() is { } saved) Restore(saved);
        _loaded = true;
    }

    /// <summary><see cref="Load"/>'s work once the storage gave a dense prior.</summary>
    private void Restore(DensePrior saved)
    {
        Optimizer = new DenseReptileOptimizer(saved.D, _optimizerConfig, saved.Values);
        _priorSaved = true;
        Round = saved.Round;
        lock (_mapsGate)
            foreach (var (domain, sequence) in saved.LastSequences) _lastApplied[domain] = sequence;
        // The lane's state saved with this very prior (none from an older build, or when no copy belongs to it:
        // the lane then starts at beta_init with no last scores, as it did before the state was saved).
        if (_storage!.LoadDenseLaneState(saved.Checksum) is not { } state) return;
        Optimizer.RestoreState(state.Optimizer.Beta, state.Optimizer.RewardEma);
        foreach (var (domain, score) in state.LastScores) _lastScore[domain] = new ScoreObservation(score.Sequence, score.Score, score.Before);
    }

    /// <summary>Before a call that takes in, runs or saves: refused once disposed; a lane over storage that has not
    /// read it loads first (its round would save over the dense prior the storage holds, from a prior started afresh).</summary>
    private void EnsureLoaded()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_loaded) Load();
    }

    /// <summary>What a save keeps beside the dense prior: the optimizer's beta and reward EMA (not its rollback
    /// copies) and every domain's last observed score.</summary>
    private SavedDenseLaneState State(DenseReptileOptimizer optimizer)
    {
        var scores = new SortedDictionary<string, SavedDenseScore>(StringComparer.Ordinal);
        foreach (var (domain, last) in _lastScore)
        {
            var kept = _beforePending.TryGetValue(domain, out var before) ? before : last;
            if (kept is { } k) scores[domain] = new SavedDenseScore(k.Sequence, k.Score, k.Before);
        }
        return new SavedDenseLaneState(new SavedOptimizerState(optimizer.Beta, optimizer.RewardEma), scores);
    }

    /// <summary>Validates <paramref name="update"/>; a valid, newer one becomes the domain's pending update.
    /// Returns whether it did. The lane takes <paramref name="acknowledgement"/> (the delivery's, deferred by the
    /// caller) in every case: held with an accepted update until the round that consumes it has saved (the one it
    /// supersedes with it); a refused one that moved the last score is held with the domain's pending update, or
    /// until the next save; a copy of a held one (the broker redelivered it) is held with it, and a copy of the one
    /// applied but not yet saved (the last save failed) waits for the next save; any other is released at once
    /// (<see cref="TakeReleasedAcknowledgements"/>): redelivering it would change nothing.</summary>
    public bool Accept(DenseUpdate update, IDeliveryAcknowledgement? acknowledgement = null)
    {
        ArgumentNullException.ThrowIfNull(update);
        EnsureLoaded();
        // Before anything is looked up or observed: an empty id was taken, and every later round's save threw
        // ("a domain id is empty") with it among the applied sequences, for good.
        if (DomainIds.Problem(update.DomainId) is { } badId)
        {
            LogRefused(_logger, update.DomainId ?? "", $"domain_id {badId}", null);
            if (acknowledgement is not null) _released.Add(acknowledgement);
            return false;
        }
        var domain = update.DomainId;
        var pendingSequence = _pending.TryGetValue(domain, out var p) ? p.Sequence : -1;
        var applied = _lastApplied.GetValueOrDefault(domain, -1);
        var newest = Math.Max(applied, pendingSequence);
        if (update.Sequence <= newest)
        {
            LogStale(_logger, domain, update.Sequence, newest, null);
            if (acknowledgement is null) return false;
            // A copy of the pending update, or of one observed since the last applied (superseded or refused,
            // held with the pending one), is held with it.
            if (pendingSequence >= 0 && update.Sequence > applied)
                _pendingAcknowledgements[domain] = JointAcknowledgement.Of(_pendingAcknowledgements.GetValueOrDefault(domain), acknowledgement)!;
            else if ((update.Sequence == applied && _unsaved) || _observedUnsaved.Contains((domain, update.Sequence)))
                _awaitingSave.Add(acknowledgement);
            else
                _released.Add(acknowledgement);
            return false;
        }
        var score = update.Metrics?.Score ?? 0.0;
        // A non-finite score is refused before it is observed, as the keyed lane refuses such a report at the edge:
        // as the last score it would make the domain's next, valid update's score_delta NaN, and refuse it too. An
        // id no save could hold is never observed: garbage ids would only grow the map of last scores.
        var observed = double.IsFinite(score) && !IdTooLong(domain);
        ScoreObservation? before = _lastScore.TryGetValue(domain, out var last) ? last : null;
        var refusal = double.IsFinite(score)
            ? Refusal(update, observed ? Observe(domain, update.Sequence, score) : 0.0)
            : FormattableString.Invariant($"non-finite score {score}");
        // Only a durable delivery has copies (the in-process bus would only grow the set).
        if (observed && acknowledgement is not null) _observedUnsaved.Add((domain, update.Sequence));
        if (refusal is { } reason)
        {
            LogRefused(_logger, domain, reason, null);
            if (acknowledgement is null) return false;
            // An observed one moved the domain's last score: acknowledged once a save holds it (with the domain's
            // pending update, whose save covers the domain; else the next save). Before a dense prior is saved the
            // lane's state is not saved alone, and the refused update goes at once.
            if (observed && _pending.ContainsKey(domain))
                _pendingAcknowledgements[domain] = JointAcknowledgement.Of(_pendingAcknowledgements.GetValueOrDefault(domain), acknowledgement)!;
            else if (observed && _stateChanged && _priorSaved)
                _awaitingSave.Add(acknowledgement);
            else
                _released.Add(acknowledgement);
            return false;
        }
        Optimizer ??= new DenseReptileOptimizer(update.Vector.Length, _optimizerConfig);
        // The lane keeps what it validated: an in-process sender's array (the record, or a JSON value wrapping it)
        // reused for its next inner loop changed the update after it was accepted, and NaN written then lost it at
        // the round with its sequence marked applied.
        // Into the lane's copy of the update this one supersedes, else a spare (the arrays are the lane's own: no
        // sender holds them).
        var copy = _pending.TryGetValue(domain, out var replaced) ? replaced.Vector : null;
        if (copy is null || copy.Length != update.Vector.Length)
            copy = _spareVectors.TryPop(out var spare) && spare.Length == update.Vector.Length ? spare : new float[update.Vector.Length];
        update.Vector.CopyTo(copy);
        lock (_mapsGate) _pending[domain] = update with { Vector = copy };
        _beforePending[domain] = before;
        // The update superseded moved the last score too: acknowledged with this one, by the save that covers both.
        _pendingAcknowledgements.Remove(domain, out var superseded);
        if (JointAcknowledgement.Of(acknowledgement, superseded) is { } held) _pendingAcknowledgements[domain] = held;
        return true;
    }

    private static bool IdTooLong(string domain) => System.Text.Encoding.UTF8.GetByteCount(domain) > DensePriorFile.MaxDomainIdBytes;

    /// <summary>A domain's last observed score, the sequence that brought it and the score before it.</summary>
    private readonly record struct ScoreObservation(long Sequence, double Score, double Before);

    /// <summary>§7's score_delta for a newer-than-applied update, moving the domain's last score to
    /// <paramref name="score"/>; a copy of the last observed update (same sequence) gets the delta its first
    /// delivery got and moves nothing.</summary>
    private double Observe(string domain, long sequence, double score)
    {
        // None yet: last is (0, 0, 0) and the update is observed.
        if (_lastScore.TryGetValue(domain, out var last) && sequence <= last.Sequence)
            return score - (sequence == last.Sequence ? last.Before : last.Score);
        _lastScore[domain] = new ScoreObservation(sequence, score, last.Score);
        _stateChanged = true;
        return score - last.Score;
    }

    /// <summary>The most updates of a width one round takes (<see cref="DomainBatch.MaxRows"/>); tests set a smaller
    /// one, as the real bound needs gigabytes of updates.</summary>
    internal Func<int, int> MaxRoundRows { get; set; } = DomainBatch.MaxRows;

    /// <summary>Why <paramref name="update"/> (of score_delta <paramref name="scoreDelta"/>) is refused, or null.</summary>
    private string? Refusal(DenseUpdate update, double scoreDelta)
    {
        // Every save writes the domain ids of the applied sequences: one too long for the file would fail every
        // later round's save, after its step.
        if (IdTooLong(update.DomainId))
            return $"domain_id longer than {DensePriorFile.MaxDomainIdBytes} UTF-8 bytes";
        if (update.Vector is null || update.Vector.Length == 0) return "empty vector";
        if (D is { } d && update.Vector.Length != d) return $"d_mismatch: {update.Vector.Length} values, the dense prior has {d}";
        if (update.Vector.Length > DomainBatch.MaxColumns) return $"{update.Vector.Length} values, more than a batch row holds ({DomainBatch.MaxColumns})";
        // The round's batch is one array: past it every round failed before it consumed anything, and the lane
        // never stepped again.
        if (!_pending.ContainsKey(update.DomainId) && _pending.Count >= MaxRoundRows(update.Vector.Length))
            return $"the round already holds {_pending.Count} updates of {update.Vector.Length} values, as many as one batch holds ({Array.MaxLength} cells)";
        var broken = _validator.ValidateParts(update.Confidence, null, update.Vector, scoreDelta);
        return broken.Count > 0 ? string.Join(", ", broken) : null;
    }

    /// <summary>
    /// One scheduled dense round on the pending updates (cleared): aggregate, step, roll back when the reward
    /// dropped, save. Returns the <c>meta_dense_prior</c> payload ({round, d, checksum, participants, rolled_back,
    /// meta}; the vector stays here, read it from <see cref="Optimizer"/>: a D-long JSON array would cost more than the round), or null when nothing was pending or no domain
    /// took part.
    /// </summary>
    public JsonObject? RunRound(LearningRoundInput round)
    {
        ArgumentNullException.ThrowIfNull(round);
        EnsureLoaded();
        if (_pending.Count == 0 || Optimizer is null)
        {
            // A prior whose last save failed is saved by the next round, stepped or not: its applied sequences and
            // the acknowledgements waiting for them must not wait for the next update to arrive. So are last scores
            // that refused updates moved since the last save (the prior as it is; nothing is published).
            if ((_unsaved || (_stateChanged && _priorSaved)) && Optimizer is { } stepped) Save(stepped.Prior);
            return null;
        }
        var updates = _pending.Values.ToList(); // domain id order

        var optimizer = Optimizer;
        var batch = RoundBatch(updates, optimizer.Columns);

        var drg = new DrgFlags(round.Drg.VramHigh, round.Drg.LatencyHigh, round.Drg.BandwidthFree);
        // A backend that throws (a device lost with no fallback) leaves the updates pending and the prior where the
        // round began (the aggregator abandons a begun step): the next round runs them again, and none of their
        // acknowledgements is given for a round that did not happen.
        var result = Aggregator.AggregateInto(batch, optimizer, round.Reward, drg);
        // Every pending update was consumed by this round, taking part or not: its sequence is applied.
        lock (_mapsGate)
        {
            _pending.Clear();
            foreach (var update in updates) _lastApplied[update.DomainId] = update.Sequence;
        }
        _spareVectors.Clear();
        foreach (var update in updates) _spareVectors.Push(update.Vector);
        _beforePending.Clear();
        _awaitingSave.AddRange(_pendingAcknowledgements.Values);
        _pendingAcknowledgements.Clear();
        if (result.Meta.Participants == 0)
        {
            // The prior did not move, but the consumed sequences did: saved before their updates are acknowledged.
            Save(optimizer.Prior);
            return null;
        }

        var rolledBack = optimizer.ShouldRollback(round.Reward);
        if (rolledBack) optimizer.Rollback();
        Round++;

        var checksum = Save(optimizer.Prior);
        var payload = new JsonObject
        {
            ["round"] = Round,
            ["d"] = optimizer.Columns,
            ["checksum"] = checksum,
            ["participants"] = result.Meta.Participants,
            ["rolled_back"] = rolledBack,
            ["meta"] = result.MetaJson(),
        };
        return payload;
    }

    /// <summary>The acknowledgements that may be given now (superseded updates, and consumed ones whose round
    /// saved); the lane forgets them.</summary>
    public IReadOnlyList<IDeliveryAcknowledgement> TakeReleasedAcknowledgements()
    {
        if (_released.Count == 0) return [];
        IDeliveryAcknowledgement[] taken = [.. _released];
        _released.Clear();
        return taken;
    }

    /// <summary>Saves with storage (the file's SHA-256), or the SHA-256 of the §11 bytes without it. A successful
    /// save (or no storage to save to) releases the acknowledgements waiting for it.</summary>
    private string Save(float[] prior)
    {
        if (_storage is not null)
        {
            try
            {
                var checksum = _storage.SaveDensePrior(prior, Round, _lastApplied, State(Optimizer!));
                _priorSaved = true;
                ReleaseSaved();
                return checksum;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _unsaved = true;
                LogSaveFailed(_logger, e);
                return DensePriorFile.Write(Stream.Null, prior, Round, _lastApplied);
            }
        }
        ReleaseSaved();
        return DensePriorFile.Write(Stream.Null, prior, Round, _lastApplied);
    }

    /// <summary>At a clean stop: saves the prior as it is with the lane's state when an observation changed it since
    /// the last save (or the last save failed), releasing what that save covers; a failure is logged as a round's
    /// is. Nothing without storage or before a dense prior was saved.</summary>
    public void SaveChanges()
    {
        EnsureLoaded();
        if (_storage is not null && (_unsaved || (_stateChanged && _priorSaved)) && Optimizer is { } optimizer) Save(optimizer.Prior);
    }

    private void ReleaseSaved()
    {
        _unsaved = false;
        _observedUnsaved.Clear();
        _stateChanged = false;
        _released.AddRange(_awaitingSave);
        _awaitingSave.Clear();
    }

    /// <summary>Releases the round's batch and, when the lane owns it, the backend. Afterwards <see cref="Load"/>,
    /// <see cref="Accept"/>, <see cref="RunRound"/> and <see cref="SaveChanges"/> throw
    /// <see cref="ObjectDisposedException"/> (the acknowledgements and the copies of the maps still answer); Dispose
    /// again does nothing.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _batch = null;
        _spareVectors.Clear();
        if (_ownsBackend) Backend.Dispose();
    }

    /// <summary>The round's batch holding <paramref name="updates"/> in order: the last round's when it has as many
    /// rows of <paramref name="columns"/> values, else a new one (the old one let go first, so that the two are
    /// never both held).</summary>
    private DomainBatch RoundBatch(List<DenseUpdate> updates, int columns)
    {
        var batch = _batch;
        if (batch is null || batch.Rows != updates.Count || batch.Columns != columns)
        {
            batch = _batch = null;
            batch = _batch = new DomainBatch(updates.Count, columns);
        }
        for (var r = 0; r < updates.Count; r++)
        {
            batch.Confidences[r] = updates[r].Confidence;
            batch.Ids[r] = updates[r].DomainId;
        }
        // Rows of a million values copy at a core's memory speed each: large rounds copy on every core.
        if ((long)updates.Count * columns >= ParallelCopyCells)
            Parallel.For(0, updates.Count, r => updates[r].Vector.CopyTo(batch.Row(r)));
        else
            for (var r = 0; r < updates.Count; r++) updates[r].Vector.CopyTo(batch.Row(r));
        batch.MarkChanged();
        return batch;
    }

    /// <summary>Cells of a round batch from which its rows are copied in parallel (4 MB).</summary>
    private const long ParallelCopyCells = 1 << 20;

    private static readonly Action<ILogger, string, string, Exception?> LogRefused =
        LoggerMessage.Define<string, string>(LogLevel.Information, new EventId(10, "DenseUpdateRefused"),
            "dense update of domain {DomainId} refused: {Reason}");

    private static readonly Action<ILogger, string, long, long, Exception?> LogStale =
        LoggerMessage.Define<string, long, long>(LogLevel.Debug, new EventId(11, "DenseUpdateStale"),
            "dense update of domain {DomainId} ignored: sequence {Sequence} is not newer than {Newest}");

    private static readonly Action<ILogger, Exception?> LogSaveFailed =
        LoggerMessage.Define(LogLevel.Error, new EventId(12, "DensePriorSaveFailed"),
            "saving the dense prior failed; the prior in memory moved and the next round saves it again");
}
