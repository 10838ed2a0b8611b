namespace Meta.Gpu.Nats;

/// <summary>What a <see cref="NatsEventBus"/> counted beyond <see cref="Runtime.EventBusStats"/>.</summary>
/// <param name="Dropped">Telemetry (core NATS) messages the client dropped because a subscriber fell behind by
/// more than <see cref="NatsBusOptions.PendingCapacity"/>; each drop is also logged.</param>
/// <param name="Rejected">Messages never delivered because they failed verification (dense checksum or object
/// SHA-256 mismatch, an object that is not in the bucket, malformed body).</param>
/// <param name="Redelivered">Durable messages the broker delivered more than once (after a crash, a restart or
/// an expired acknowledgement wait).</param>
/// <param name="DuplicatesSuppressed">Durable publishes the broker recognised by message id and did not store again.</param>
/// <param name="Acknowledged">Durable messages acknowledged after their handlers finished.</param>
/// <param name="ObjectsPut">Dense vectors sent through the object store.</param>
/// <param name="ObjectsFetched">Dense vectors fetched from the object store and verified.</param>
/// <param name="PublishFailed">Durable publishes given up: not confirmed stored by the broker within
/// <see cref="NatsBusOptions.PublishTimeout"/>, or refused by the stream; each is also logged as an error.</param>
/// <param name="Reconnects">Times the connection came back after it was lost (the first connection is not one);
/// each is also logged.</param>
/// <param name="ConsumedCopiesDropped">Copies of dense messages dropped because another delivery of the same message
/// had been consumed, which deletes its object (the broker delivered it again after its ack wait, while the first
/// copy waited behind a slow fetch): the update was applied once, so these are logged as information, not errors.</param>
public sealed record NatsBusStats(
    long Dropped,
    long Rejected,
    long Redelivered,
    long DuplicatesSuppressed,
    long Acknowledged,
    long ObjectsPut,
    long ObjectsFetched,
    long PublishFailed,
    long Reconnects,
    long ConsumedCopiesDropped);
