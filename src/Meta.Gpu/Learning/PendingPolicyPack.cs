using Meta.Gpu.Runtime;

namespace Meta.Gpu.Learning;

/// <summary>A domain's pending keyed update with the pack's optional sequence and, on a durable bus, the
/// deferred acknowledgement to give once the round that applies it has saved (DESIGN §10).</summary>
internal sealed record PendingPolicyPack(DomainMetaUpdate Update, long? Sequence, IDeliveryAcknowledgement? Acknowledgement);
