namespace Meta.Gpu.Storage;

/// <summary>The global prior as saved, with the last applied policy-pack sequence of every domain that sent one
/// (DESIGN §10; empty for a file saved without them).</summary>
public sealed record SavedPrior(IReadOnlyDictionary<string, double> Prior, IReadOnlyDictionary<string, long> LastSequences);
