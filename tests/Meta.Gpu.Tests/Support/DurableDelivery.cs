using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Support;

/// <summary>A delivery as a bus with durable topics makes it: an acknowledgement is current while the handler runs,
/// and the bus gives it when the handler returns without deferring it.</summary>
internal sealed class DurableDelivery
{
    private int _given;

    private DurableDelivery(DeferrableAcknowledgement acknowledgement) => Acknowledgement = acknowledgement;

    public DeferrableAcknowledgement Acknowledgement { get; }

    /// <summary>Whether the handler kept the acknowledgement for later.</summary>
    public bool Deferred => Acknowledgement.Deferred;

    /// <summary>Whether the acknowledgement was given (by the bus on return, or by the handler later).</summary>
    public bool Acknowledged => Volatile.Read(ref _given) == 1;

    public static async Task<DurableDelivery> HandleAsync(Func<ValueTask> handle)
    {
        DurableDelivery? delivery = null;
        delivery = new DurableDelivery(new DeferrableAcknowledgement(() =>
        {
            Interlocked.Exchange(ref delivery!._given, 1);
            return ValueTask.CompletedTask;
        }));
        DeliveryAcknowledgement.Current = delivery.Acknowledgement;
        try
        {
            await handle();
        }
        finally
        {
            DeliveryAcknowledgement.Current = null;
        }
        if (!delivery.Deferred) await delivery.Acknowledgement.AcknowledgeAsync();
        return delivery;
    }
}
