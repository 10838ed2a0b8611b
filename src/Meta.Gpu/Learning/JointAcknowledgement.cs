using Meta.Gpu.Runtime;

namespace Meta.Gpu.Learning;

/// <summary>
/// Two deliveries of one message held as one: a broker redelivers an unacknowledged message after its ack wait,
/// and the copy's acknowledgement would acknowledge the message itself. The agent holds the copy's with the
/// original's, to be given when what the message changed is saved.
/// </summary>
internal sealed class JointAcknowledgement(IDeliveryAcknowledgement first, IDeliveryAcknowledgement second) : IDeliveryAcknowledgement
{
    /// <summary><paramref name="held"/> and <paramref name="copy"/> as one (either alone when the other is null).</summary>
    public static IDeliveryAcknowledgement? Of(IDeliveryAcknowledgement? held, IDeliveryAcknowledgement? copy) =>
        held is null ? copy : copy is null ? held : new JointAcknowledgement(held, copy);

    /// <summary>Gives both, the second even when the first throws (it is a delivery of its own, whose message
    /// would otherwise stay with the broker); then throws what failed.</summary>
    public async ValueTask AcknowledgeAsync()
    {
        try
        {
            await first.AcknowledgeAsync().ConfigureAwait(false);
        }
        catch (Exception firstFailure)
        {
            try
            {
                await second.AcknowledgeAsync().ConfigureAwait(false);
            }
            catch (Exception secondFailure)
            {
                throw new AggregateException(firstFailure, secondFailure);
            }
            throw;
        }
        await second.AcknowledgeAsync().ConfigureAwait(false);
    }
}
