namespace Meta.Gpu.Compute;

/// <summary>The DRG profile flags the optimizer's beta reacts to (DESIGN §8 (a), §10).</summary>
public readonly record struct DrgFlags(bool VramHigh = false, bool LatencyHigh = false, bool BandwidthFree = false);
