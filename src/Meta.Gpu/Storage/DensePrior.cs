namespace Meta.Gpu.Storage;

/// <summary>A dense prior (or a dense update) as read back from <see cref="DensePriorFile"/>.</summary>
/// <param name="Values">The D float32 values; the caller owns the array.</param>
/// <param name="Round">Dense steps taken, for a prior; the domain's sequence, for an update on the wire.</param>
/// <param name="LastSequences">The last applied sequence per domain id (ordinal order); empty for an update.</param>
/// <param name="Checksum">The record's SHA-256, lowercase hex (what <c>meta_dense_prior</c> publishes).</param>
public sealed record DensePrior(float[] Values, long Round, IReadOnlyDictionary<string, long> LastSequences, string Checksum)
{
    /// <summary>D: the number of values.</summary>
    public int D => Values.Length;
}
