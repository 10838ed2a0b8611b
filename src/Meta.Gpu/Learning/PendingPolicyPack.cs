using Meta.Gpu.Runtime;

namespace Meta.Gpu.Learning;

/// <summary>A domain's pending keyed update with the pack's optional sequence and, on a durable bus, the
/// deferred acknowledgement to give once the round that applies it has saved (DESIGN §10).</summary>
/// <param name="Update">The validated update.</param>
/// <param name="Sequence">The pack's sequence; null when it carried none.</param>
/// <param name="Acknowledgement">The held acknowledgements (this pack's, with those of the domain's packs observed
/// while it was pending or that it replaced); null on a bus without durable deliveries, and for a pending update a
/// clean stop saved, until the broker's copy of its pack comes.</param>
internal sealed record PendingPolicyPack(DomainMetaUpdate Update, long? Sequence, IDeliveryAcknowledgement? Acknowledgement);
