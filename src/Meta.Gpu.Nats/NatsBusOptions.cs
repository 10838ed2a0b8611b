using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Nats;

/// <summary>
/// Settings of a <see cref="NatsEventBus"/>. Defaults are what `meta-gpu serve` and `meta-gpu domain` use.
/// </summary>
public sealed record NatsBusOptions
{
    /// <summary>Every topic that must survive a crash: domain work (DESIGN §10).</summary>
    public static readonly IReadOnlyList<string> DomainWorkTopics = [LearningTopics.DenseUpdate, LearningTopics.PolicyPack];

    /// <summary>The broker, <c>nats://HOST:PORT</c> (credentials may come before the host:
    /// <c>nats://USER:PASSWORD@HOST:PORT</c> or <c>nats://TOKEN@HOST:PORT</c>).</summary>
    public string Url { get; init; } = "nats://127.0.0.1:4222";

    /// <summary><see cref="Url"/> as printed and logged: credentials in it are replaced by <c>***</c> (a user name
    /// is kept), so that they do not end up in terminals, logs and CI output.</summary>
    public string DisplayUrl => Redacted(Url);

    /// <summary><paramref name="url"/> with the secret part of its user information (the password, or a lone
    /// token) replaced by <c>***</c>; unchanged when it holds none or is not an absolute address.</summary>
    public static string Redacted(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        // Read as text, not through Uri, which refuses some addresses that still carry a secret (an unescaped '@'
        // in a password): the user information ends at the authority's last '@'.
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0) return url;
        var authorityStart = schemeEnd + 3;
        var slash = url.IndexOf('/', authorityStart);
        var authority = slash < 0 ? url[authorityStart..] : url[authorityStart..slash];
        var at = authority.LastIndexOf('@');
        if (at < 0) return url;
        var colon = authority.IndexOf(':');
        var shown = colon < 0 || colon > at ? "***" : authority[..colon] + ":***";
        return url[..authorityStart] + shown + url[(authorityStart + at)..];
    }

    /// <summary>Subjects are <c>{prefix}.{topic}</c>; two deployments on one broker use different prefixes.</summary>
    public string SubjectPrefix { get; init; } = "meta_gpu";

    /// <summary>Topics carried by a JetStream stream with a durable consumer and explicit acknowledgement after
    /// the handlers finished. Other topics are core NATS: fire-and-forget, for telemetry. The single entry
    /// <c>*</c> makes every topic durable.</summary>
    public IReadOnlyList<string> DurableTopics { get; init; } = DomainWorkTopics;

    /// <summary>Topics whose payload carries a float32 <c>vector</c> that travels binary (DESIGN §11), inline
    /// when it fits the server's max payload, through the object store otherwise.</summary>
    public IReadOnlyList<string> DenseTopics { get; init; } = [LearningTopics.DenseUpdate];

    /// <summary>Name of the durable consumer. Processes sharing it share the work (one aggregator normally).</summary>
    public string DurableName { get; init; } = "meta_gpu_agent";

    /// <summary>Object store bucket for dense updates larger than the inline limit.</summary>
    public string ObjectBucket { get; init; } = "meta_gpu_dense";

    /// <summary>How long an unconsumed large vector stays in the object store (a safety net: consumed objects are
    /// deleted after the acknowledgement).</summary>
    public TimeSpan ObjectMaxAge { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Largest dense message sent inline, in bytes; null = the server's max payload less 64 KiB of room
    /// for headers and the JSON envelope.</summary>
    public int? InlineLimitBytes { get; init; }

    /// <summary>How long connecting may take before the broker is declared unreachable.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long a durable publish keeps being sent again while the broker is away (reconnecting) before
    /// it is given up (logged, counted, and thrown by the next publish or WaitForIdle). Creating a durable topic's
    /// stream (its first publish, or after a broker came back without it) keeps asking a JetStream that does not
    /// answer yet for as long. A stream this bus creates recognises a resent message id for as long (its duplicate
    /// window: this, or two minutes where this is shorter).</summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long fetching a large vector from the object store may go without receiving a byte. Then the
    /// object is looked up again: deleted (another delivery of the message was consumed meanwhile), the copy is
    /// dropped (<see cref="NatsBusStats.ConsumedCopiesDropped"/>); not there at all, the message is rejected; still
    /// there, it is given back to the broker, which offers it again after the ack wait, and the messages behind it go
    /// on meanwhile.</summary>
    public TimeSpan FetchStallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a durable topic's pull may hear nothing at all from the broker (no message, and none of the
    /// idle heartbeats or expiry notices a working broker answers every pull with) before the durable consumer is
    /// taken for broken: if the broker still answers a consumer lookup, the consumer is deleted and created again
    /// (messages it had handed out are offered again at once). nats-server 2.9 can create a consumer whose every
    /// delivery, heartbeat and notice goes nowhere, for good, when a second process makes the same stream at the
    /// same moment; the consumer still counts its messages delivered.</summary>
    public TimeSpan ConsumeStallTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Durable publishes written but not yet confirmed stored by the broker, at most; a publisher waits
    /// beyond it. Larger windows hide more of the broker round trip.</summary>
    public int PublishWindow { get; init; } = 256;

    /// <summary>How long a durable publish waits for the broker's confirmation before it is sent again (same
    /// message id, stored once).</summary>
    public TimeSpan PublishAckWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the broker waits for an acknowledgement before redelivering; after a crash the
    /// unacknowledged messages come back after at most this long.</summary>
    public TimeSpan AckWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The least <see cref="AckWait"/>: 0.1 s.</summary>
    public static TimeSpan MinAckWait { get; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Capacity of each local subscriber's queue (backpressure beyond it).</summary>
    public int QueueCapacity { get; init; } = 1024;

    /// <summary>Capacity of the client's buffer per core subscription; beyond it the client drops telemetry,
    /// which is logged and counted in <see cref="NatsBusStats.Dropped"/>.</summary>
    public int PendingCapacity { get; init; } = 65536;

    /// <summary>Messages asked from the durable consumer per pull.</summary>
    public int ConsumeBatch { get; init; } = 512;

    /// <summary>Messages asked per pull from a dense topic's durable consumer (<see cref="DenseTopics"/>): few,
    /// because the broker starts a message's ack wait when it is pulled, and a large vector waiting in the pull
    /// behind other vectors' fetches for longer than that is delivered again (each copy fetched again, or, once
    /// the first was handled and its object deleted, dropped: <see cref="NatsBusStats.ConsumedCopiesDropped"/>). 8 keeps a burst of small inline updates
    /// quick (2,000 of 1 KB: 0.33 s, against 1.0 s one at a time and 0.09 s at 512) while a vector waits behind at
    /// most seven fetches.</summary>
    public int DenseConsumeBatch { get; init; } = 8;

    /// <summary>Whether a subscription the broker refused is logged (an error line per topic). A caller that awaits
    /// <see cref="NatsEventBus.WhenSubscribedAsync"/> and reports the refusal itself (`meta-gpu serve`, the bus demo)
    /// turns it off, so that the user reads one line, not the same failure twice. Default true: a process that only
    /// subscribes would otherwise never hear of it.</summary>
    public bool LogSubscriptionFailures { get; init; } = true;

    /// <summary>Connection name shown by the server (monitoring).</summary>
    public string ClientName { get; init; } = "meta-gpu";

    /// <summary>Refuses, under <paramref name="field"/>, a <paramref name="url"/> that is no broker address (nats:// or
    /// tls:// with a host).</summary>
    public static void CheckBrokerAddress(string url, string field)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls") || string.IsNullOrEmpty(uri.Host))
            throw new InvalidInputException($"{field}: '{Redacted(url)}' is not a broker address (expected nats://HOST:PORT)");
    }

    /// <summary>Checks every field; throws <see cref="InvalidInputException"/> naming the first bad one.</summary>
    public NatsBusOptions Validated()
    {
        CheckBrokerAddress(Url, "bus");
        NatsSubjects.ValidateToken(SubjectPrefix, "subject_prefix");
        NatsSubjects.ValidateStreamNames(SubjectPrefix, DurableTopics.Concat(DenseTopics), "subject_prefix");
        NatsSubjects.ValidateName(DurableName, "durable_name");
        NatsSubjects.ValidateName(ObjectBucket, "object_bucket");
        foreach (var topic in DurableTopics)
            if (topic != "*") NatsSubjects.ValidateTopic(topic);
        foreach (var topic in DenseTopics) NatsSubjects.ValidateTopic(topic);
        // Each is a timed cancellation or a timer's wait: past a timer's longest wait it threw at its first use
        // (connecting, publishing) instead of here.
        Timed(ConnectTimeout, "connect_timeout");
        Timed(PublishTimeout, "publish_timeout");
        Timed(PublishAckWait, "publish_ack_wait");
        Timed(FetchStallTimeout, "fetch_stall_timeout", MinFetchStallTimeout);
        Timed(ConsumeStallTimeout, "consume_stall_timeout", MinConsumeStallTimeout);
        // Progress is reported every half of it: at 1e-7 s that rounded to 0, a tight loop; past a timer's
        // longest wait the delay threw and stopped the topic's feed.
        Timed(AckWait, "ack_wait", MinAckWait);
        Positive(ObjectMaxAge, "object_max_age");
        if (QueueCapacity < 1) throw new InvalidInputException(FormattableString.Invariant($"queue_capacity: {QueueCapacity} must be at least 1"));
        if (PendingCapacity < 1) throw new InvalidInputException(FormattableString.Invariant($"pending_capacity: {PendingCapacity} must be at least 1"));
        if (PublishWindow < 1) throw new InvalidInputException(FormattableString.Invariant($"publish_window: {PublishWindow} must be at least 1"));
        if (ConsumeBatch < 1) throw new InvalidInputException(FormattableString.Invariant($"consume_batch: {ConsumeBatch} must be at least 1"));
        if (DenseConsumeBatch < 1) throw new InvalidInputException(FormattableString.Invariant($"dense_consume_batch: {DenseConsumeBatch} must be at least 1"));
        if (InlineLimitBytes is < 1024) throw new InvalidInputException(FormattableString.Invariant($"inline_limit_bytes: {InlineLimitBytes} must be at least 1024"));
        return this;
    }

    public bool IsDurable(string topic) => DurableTopics.Contains("*") || DurableTopics.Contains(topic);

    public bool IsDense(string topic) => DenseTopics.Contains(topic);

    /// <summary>The least <see cref="FetchStallTimeout"/>: 1 s (a shorter one gave up fetches that were only
    /// starting; the check runs every quarter of it).</summary>
    public static TimeSpan MinFetchStallTimeout { get; } = TimeSpan.FromSeconds(1);

    /// <summary>The least <see cref="ConsumeStallTimeout"/>: 5 s, a few of the pulls' 1 s heartbeats (the client
    /// notices a missed one after 2 s); shorter would take a busy broker's late heartbeat for a broken consumer.</summary>
    public static TimeSpan MinConsumeStallTimeout { get; } = TimeSpan.FromSeconds(5);

    /// <summary>Refuses a wait shorter than <paramref name="least"/> or longer than a timer can wait.</summary>
    private static void Timed(TimeSpan value, string field, TimeSpan least)
    {
        if (value < least || value > DrainTimeout.LongestTimed)
            throw new InvalidInputException(FormattableString.Invariant(
                $"{field}: {value.TotalSeconds} s must be at least {least.TotalSeconds} s and at most {DrainTimeout.LongestTimed.TotalSeconds:0} s (about 24.8 days)"));
    }

    /// <summary>Refuses a wait that is not positive or longer than a timer can wait.</summary>
    private static void Timed(TimeSpan value, string field)
    {
        if (value <= TimeSpan.Zero || value > DrainTimeout.LongestTimed)
            throw new InvalidInputException(FormattableString.Invariant(
                $"{field}: {value.TotalSeconds} s must be positive and at most {DrainTimeout.LongestTimed.TotalSeconds:0} s (about 24.8 days)"));
    }

    private static void Positive(TimeSpan value, string field)
    {
        if (value <= TimeSpan.Zero) throw new InvalidInputException($"{field}: {value} must be positive");
    }
}
