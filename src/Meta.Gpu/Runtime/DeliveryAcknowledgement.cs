namespace Meta.Gpu.Runtime;

/// <summary>
/// The acknowledgement of one delivery of a durable topic (a broker-backed bus, DESIGN §10): until it is given,
/// the broker keeps the message and redelivers it to the next consumer after a crash.
/// </summary>
public interface IDeliveryAcknowledgement
{
    /// <summary>Tells the broker the message's effect is saved. Idempotent.</summary>
    ValueTask AcknowledgeAsync();
}

/// <summary>
/// Lets a handler keep a durable message unacknowledged after it returns, until what the message changed is
/// saved: the learning agent holds a domain's pack as pending until the round that aggregates it has saved the
/// prior, and only then acknowledges it (DESIGN §10: "acknowledges a message to the broker only after that save").
/// </summary>
/// <remarks>A bus that carries durable topics sets <see cref="Current"/> around each handler call; by default it
/// acknowledges when the handler returns. A handler that calls <see cref="Defer"/> takes that over. On the
/// in-process bus, and for fire-and-forget topics, there is nothing to acknowledge and <see cref="Defer"/>
/// returns null.</remarks>
public static class DeliveryAcknowledgement
{
    private static readonly AsyncLocal<DeferrableAcknowledgement?> CurrentSlot = new();

    /// <summary>Called from inside a handler: the bus will not acknowledge the current delivery when the handler
    /// returns; the caller acknowledges it later. Null when the delivery needs no acknowledgement.</summary>
    public static IDeliveryAcknowledgement? Defer()
    {
        var current = CurrentSlot.Value;
        if (current is null) return null;
        current.Deferred = true;
        return current;
    }

    /// <summary>For buses: the acknowledgement of the delivery about to be handled (null: none).</summary>
    public static DeferrableAcknowledgement? Current
    {
        get => CurrentSlot.Value;
        set => CurrentSlot.Value = value;
    }
}

/// <summary>An acknowledgement a bus hands to a handler through <see cref="DeliveryAcknowledgement"/>.</summary>
public sealed class DeferrableAcknowledgement(Func<ValueTask> acknowledge) : IDeliveryAcknowledgement
{
    private int _done;

    /// <summary>True once the handler took the acknowledgement over.</summary>
    public bool Deferred { get; internal set; }

    public ValueTask AcknowledgeAsync() =>
        Interlocked.Exchange(ref _done, 1) == 0 ? acknowledge() : ValueTask.CompletedTask;
}
