using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.TorchSharp;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Cli.Commands.Demo;

/// <summary>
/// The aggregator of the sine demo over a broker, in synchronous rounds: announce round r's prior
/// (<see cref="SinePriorAnnouncement"/>), wait for exactly one dense update of round r from every expected domain,
/// aggregate them in domain id order with the same outer step as the in-process demo (<see cref="IOuterStep"/>,
/// fixed beta), save the prior with every domain's sequence (one atomic file), acknowledge the round's messages to
/// the broker, announce round r + 1. The result therefore does not depend on timing: it is the in-process run's.
/// </summary>
/// <remarks>
/// <para>Participants: the expected domain ids, fixed for the run (the demo's <c>domain-000</c>...). An update from
/// another domain or for another round (a redelivery of an applied round, a leftover of an earlier run) is
/// acknowledged and ignored (debug log); a second copy for the open round is ignored and acknowledged with the round
/// (it may be the broker redelivering the held message itself). So a redelivery after a crash is applied once.</para>
/// <para>Crash safety: round r's messages stay unacknowledged until the prior after round r is saved; a killed
/// aggregator restarted on the same storage folder resumes from the saved round, and the broker redelivers what was
/// not acknowledged (after the ack wait). The sequence base is recovered from the saved sequences.</para>
/// <para>A domain that sends nothing within the round timeout stops the run with an error naming the missing
/// domains, rather than waiting forever; a resumed run's first round waits the ack wait longer, for those
/// redeliveries (<see cref="RedeliveryWait"/>).</para>
/// </remarks>
internal sealed class SyncRoundAggregator
{
    private readonly IEventBus _bus;
    private readonly MetaStorageManager _storage;
    private readonly IOuterStep _outerStep;
    private readonly string[] _expected;
    private readonly double _beta;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly SortedDictionary<string, (DenseUpdate Update, IDeliveryAcknowledgement? Ack)> _current = new(StringComparer.Ordinal);
    private readonly List<IDeliveryAcknowledgement> _copies = [];
    private TaskCompletionSource _complete = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _round;
    private long _sequenceBase;
    private int _d;
    private long _ignored;
    private float[]? _prior;

    public SyncRoundAggregator(IEventBus bus, MetaStorageManager storage, IOuterStep outerStep, IEnumerable<string> expectedDomains, double beta, ILogger logger)
    {
        _bus = bus ?? throw new ArgumentNullException(nameof(bus));
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _outerStep = outerStep ?? throw new ArgumentNullException(nameof(outerStep));
        _expected = [.. expectedDomains.Distinct().Order(StringComparer.Ordinal)];
        if (_expected.Length == 0) throw new InvalidInputException("domains: a round needs at least one expected domain");
        if (!(beta > 0 && beta <= 1)) throw new InvalidInputException($"beta: must be in (0, 1], got {beta}");
        _beta = beta;
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>How long a round may wait for its updates (default 60 s).</summary>
    public TimeSpan RoundTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the broker holds a delivery to an aggregator that stopped without acknowledging it before it
    /// redelivers it (the consumer's ack wait; default zero: nothing redelivered). A resumed run's first round waits
    /// this long on top of <see cref="RoundTimeout"/>: the killed run's updates of that round come back only then, and
    /// a domain's answer sent again is the same message, which the broker drops as a duplicate.</summary>
    public TimeSpan RedeliveryWait { get; init; } = TimeSpan.Zero;

    /// <summary>How often the announcement is repeated while a round waits (default 1 s).</summary>
    public TimeSpan RepeatEvery { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Rounds applied (the saved prior's round after a restart).</summary>
    public long Round => Interlocked.Read(ref _round);

    /// <summary>The round the run resumed from (0 on a fresh start).</summary>
    public long ResumedFrom { get; private set; }

    /// <summary>Updates acknowledged and ignored: duplicates, redeliveries of applied rounds, other runs' leftovers.</summary>
    public long Ignored => Interlocked.Read(ref _ignored);

    /// <summary>
    /// Runs until <paramref name="rounds"/> rounds are applied; returns the prior. <paramref name="initialPrior"/>
    /// starts a fresh run; a prior saved in the storage folder resumes one. <paramref name="onRound"/> sees each
    /// applied round's updates (domain id order).
    /// </summary>
    public async Task<float[]> RunAsync(float[] initialPrior, long rounds, Action<long, IReadOnlyList<DenseUpdate>>? onRound, CancellationToken cancellationToken)
    {
        using var subscription = Start(initialPrior);
        return await RunRoundsAsync(rounds, onRound, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The first half of <see cref="RunAsync"/>: resumes from the storage folder (or starts from
    /// <paramref name="initialPrior"/>) and subscribes to the updates; <see cref="RunRoundsAsync"/> runs while the
    /// returned subscription is held. Apart so that a caller can make sure the broker took the subscription (another
    /// aggregator's consumer may already read the prefix) before it starts anything else.
    /// </summary>
    public IDisposable Start(float[] initialPrior)
    {
        ArgumentNullException.ThrowIfNull(initialPrior);
        // Resumed first: the handler judges what arrives by the resumed round and sequence base.
        _prior = Resume(initialPrior);
        return _bus.Subscribe(DenseLearningLane.UpdateTopic, OnUpdateAsync);
    }

    /// <summary>The second half of <see cref="RunAsync"/>, after <see cref="Start"/>: runs until
    /// <paramref name="rounds"/> rounds are applied; returns the prior.</summary>
    public async Task<float[]> RunRoundsAsync(long rounds, Action<long, IReadOnlyList<DenseUpdate>>? onRound, CancellationToken cancellationToken)
    {
        var prior = _prior ?? throw new InvalidOperationException("Start first: RunRoundsAsync runs the rounds of a started aggregator");
        var batch = new DomainBatch(_expected.Length, _d);
        while (Round < rounds)
        {
            var updates = await WaitForRoundAsync(prior, cancellationToken).ConfigureAwait(false);
            for (var row = 0; row < updates.Count; row++)
            {
                updates[row].Update.Vector.CopyTo(batch.Row(row));
                batch.Confidences[row] = updates[row].Update.Confidence;
                batch.Ids[row] = updates[row].Update.DomainId;
            }
            batch.MarkChanged();
            _outerStep.Step(batch, prior, _beta);
            var applied = Round + 1;
            var sequences = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var (update, _) in updates) sequences[update.DomainId] = update.Sequence;
            // Saved before anything is acknowledged: a crash between the two redelivers updates the saved
            // sequences already cover, which are then ignored.
            Saving(() => _storage.SaveDensePrior(prior, applied, sequences), $"round {applied}'s prior");
            foreach (var (_, ack) in updates)
                if (ack is not null) await ack.AcknowledgeAsync().ConfigureAwait(false);
            IDeliveryAcknowledgement[] copies;
            lock (_gate)
            {
                copies = [.. _copies];
                _copies.Clear();
            }
            foreach (var copy in copies) await copy.AcknowledgeAsync().ConfigureAwait(false);
            lock (_gate)
            {
                _current.Clear();
                _complete = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Interlocked.Exchange(ref _round, applied);
            }
            onRound?.Invoke(applied, [.. updates.Select(u => u.Update)]);
        }
        return prior;
    }

    private float[] Resume(float[] initialPrior)
    {
        _d = initialPrior.Length;
        var saved = _storage.LoadDensePrior();
        var record = new DemoRunRecord(Seed, Shots, InnerSteps, InnerLearningRate, _beta);
        if (saved is null)
        {
            Saving(() => record.Save(_storage.Root), DemoRunRecord.FileName);
            _round = 0;
            _sequenceBase = DateTimeOffset.UtcNow.ToUnixTimeSeconds() * 1_000_000;
            return [.. initialPrior];
        }
        record.CheckResumes(_storage.Root);
        // Checked before anything subscribes (no durable consumer is made for a refused run): taking no round, the
        // run reported the saved prior as one of the fewer rounds asked (demo.json's meta_rounds).
        if (MetaRounds is { } wanted && saved.Round > wanted)
            throw new InvalidInputException(FormattableString.Invariant(
                $"--meta-rounds {wanted}: the run saved in --storage {_storage.Root} is at round {saved.Round}; give at least {saved.Round} to resume it, or use another folder"));
        if (saved.D != initialPrior.Length)
            throw new InvalidInputException($"--storage {_storage.Root}: the saved prior has {saved.D} values, this run's network {initialPrior.Length}");
        // A run of another number of domains (--workers 3 killed, rerun with --workers 2) decides other numbers, as
        // another seed does: resumed, its saved rounds and the new ones were two runs' mixture.
        if (saved.LastSequences.Count != _expected.Length)
            throw new InvalidInputException(FormattableString.Invariant(
                $"{DomainCountOption} {_expected.Length}: the run saved in --storage {_storage.Root} has {saved.LastSequences.Count} domains ({string.Join(", ", saved.LastSequences.Keys)}); give the same to resume it, or use another folder"));
        long? sequenceBase = null;
        foreach (var domain in _expected)
        {
            if (!saved.LastSequences.TryGetValue(domain, out var sequence) || (sequenceBase is { } b && sequence - saved.Round != b))
                throw new InvalidInputException($"--storage {_storage.Root}: the saved prior is not from a run of the domains {string.Join(", ", _expected)} (sequences {string.Join(", ", saved.LastSequences.Select(p => $"{p.Key}={p.Value}"))}); use another folder");
            sequenceBase = sequence - saved.Round;
        }
        _round = saved.Round;
        _sequenceBase = sequenceBase!.Value;
        ResumedFrom = saved.Round;
        return saved.Values;
    }

    /// <summary>A write into the storage folder; one the file system refuses (a full disk, a read-only mount) is the
    /// run's one error line naming the folder (README: exit 2, an output that cannot be written), not an unhandled
    /// IOException. Nothing of the round is acknowledged: a rerun on the folder resumes from its last saved round.</summary>
    private void Saving(Action save, string what)
    {
        try
        {
            save();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"--storage {_storage.Root}: cannot save {what} ({e.Message.ReplaceLineEndings(" ")})", e);
        }
    }

    /// <summary>Announces the prior (again every <see cref="RepeatEvery"/>) until every expected domain's update for
    /// the round is in; the updates in domain id order.</summary>
    private async Task<List<(DenseUpdate Update, IDeliveryAcknowledgement? Ack)>> WaitForRoundAsync(float[] prior, CancellationToken cancellationToken)
    {
        Task complete;
        lock (_gate) complete = _complete.Task;
        var announcement = Announcement(prior).ToJson();
        var resuming = ResumedFrom > 0 && Round == ResumedFrom && RedeliveryWait > TimeSpan.Zero;
        var limit = resuming ? RoundTimeout + RedeliveryWait : RoundTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            try
            {
                // A broker that is away holds a publish until it is back: the round's deadline still applies.
                await _bus.PublishAsync(SinePriorAnnouncement.Topic, announcement, cancellationToken).AsTask()
                    .WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                break;
            }
            left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) break;
            var wait = left < RepeatEvery ? left : RepeatEvery;
            if (await Task.WhenAny(complete, Task.Delay(wait, cancellationToken)).ConfigureAwait(false) == complete) break;
            cancellationToken.ThrowIfCancellationRequested();
        }
        lock (_gate)
        {
            if (_current.Count == _expected.Length) return [.. _current.Values];
            var missing = _expected.Where(d => !_current.ContainsKey(d));
            var why = resuming
                ? FormattableString.Invariant($" ({RoundTimeout.TotalSeconds:0.#} s and, as the first round of a resumed run, the {RedeliveryWait.TotalSeconds:0.#} s ack wait)")
                : "";
            throw new InvalidInputException(FormattableString.Invariant(
                $"round {Round + 1}: no update from {string.Join(", ", missing)} within {limit.TotalSeconds:0.#} s{why} (is the broker reachable, and a 'meta-gpu domain' worker running for each on this broker and prefix?)"));
        }
    }

    public SinePriorAnnouncement Announcement(float[] prior) => new(Round, Seed, Shots, InnerSteps, InnerLearningRate, _sequenceBase, [.. prior]);

    /// <summary>The option the user gave the domain count with, named when a saved run's count differs:
    /// <c>--workers N</c> sets it when <c>--domains</c> is absent.</summary>
    public string DomainCountOption { get; init; } = "--domains";

    /// <summary>The rounds the run is asked for: a saved run already past them is refused at <see cref="Start"/>
    /// (null: not checked).</summary>
    public long? MetaRounds { get; init; }

    /// <summary>The task settings announced with every prior.</summary>
    public int Seed { get; init; }

    public int Shots { get; init; } = 10;

    public int InnerSteps { get; init; } = 5;

    public double InnerLearningRate { get; init; } = 0.05;

    private ValueTask OnUpdateAsync(BusEvent busEvent, CancellationToken cancellationToken)
    {
        var update = DenseUpdate.FromPayload(busEvent.Payload, busEvent.Topic);
        lock (_gate)
        {
            var wanted = _sequenceBase + _round + 1;
            if (Array.BinarySearch(_expected, update.DomainId, StringComparer.Ordinal) < 0 || update.Sequence != wanted || _current.ContainsKey(update.DomainId))
            {
                Interlocked.Increment(ref _ignored);
                LogIgnored(_logger, update.DomainId, update.Sequence, wanted, null);
                // A second copy of an update the open round holds may be the broker redelivering that very message
                // (held past the ack wait): acknowledging it now would acknowledge the message the round has not
                // saved yet, and a crash would lose it. It is acknowledged with the round instead.
                if (update.Sequence == wanted && _current.ContainsKey(update.DomainId) && DeliveryAcknowledgement.Defer() is { } copy)
                    _copies.Add(copy);
                return ValueTask.CompletedTask;
            }
            if (update.Vector.Length != _d || !(update.Confidence is >= 0 and <= 1))
                throw new InvalidInputException($"{busEvent.Topic}: domain {update.DomainId} sent {update.Vector.Length} values with confidence {update.Confidence}; the round needs {_d} values and a confidence in [0, 1]");
            // Acknowledged once the round that applies it is saved.
            _current[update.DomainId] = (update, DeliveryAcknowledgement.Defer());
            if (_current.Count == _expected.Length) _complete.TrySetResult();
        }
        return ValueTask.CompletedTask;
    }

    private static readonly Action<ILogger, string, long, long, Exception?> LogIgnored =
        LoggerMessage.Define<string, long, long>(LogLevel.Debug, new EventId(40, "SineUpdateIgnored"),
            "dense update of domain {DomainId} ignored: sequence {Sequence}, the open round wants {Wanted} from each expected domain, once");
}
