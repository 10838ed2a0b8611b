namespace Meta.Gpu.Compute;

/// <summary>
/// A dense prior that a device backend may keep on its device across rounds (DESIGN §4 dense form: the batch "can
/// stay resident on the device across rounds together with the prior"). The host array stays the truth: every
/// step copies the stepped values back into <see cref="Values"/>, so saving, checksums, rollback copies and the
/// cpu fallback all read it as before. What residency saves is the upload: a backend that stepped this prior last
/// and finds <see cref="Version"/> unchanged steps its own copy instead of uploading D floats again.
/// </summary>
/// <remarks>
/// Whoever writes <see cref="Values"/> on the host (a rollback, a restore, a caller's own edit, a backend's step)
/// calls <see cref="MarkChanged"/> afterwards, as with <see cref="DomainBatch.MarkChanged"/>. A device backend that
/// stepped the prior records the version it left, so its own next step needs no upload, while any other backend
/// holding an earlier copy sees the version move and uploads. The array is never replaced.
/// </remarks>
public sealed class ResidentPrior
{
    /// <summary>Wraps <paramref name="values"/> (not copied: the caller's array is the prior).</summary>
    public ResidentPrior(float[] values)
    {
        Values = values ?? throw new ArgumentNullException(nameof(values));
        if (values.Length == 0) throw new ArgumentException("a prior has at least one value", nameof(values));
    }

    /// <summary>The prior on the host (D values; NaN = not set yet).</summary>
    public float[] Values { get; }

    /// <summary>Bumped by <see cref="MarkChanged"/>; a device copy is valid for one version.</summary>
    public long Version { get; private set; }

    /// <summary>Call after writing <see cref="Values"/> on the host.</summary>
    public void MarkChanged() => Version++;
}
