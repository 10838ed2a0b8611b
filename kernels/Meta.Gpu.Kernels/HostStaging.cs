using ILGPU;
using ILGPU.Runtime;

namespace Meta.Gpu.Kernels;

/// <summary>
/// Page-locked host memory that device results are downloaded into before they reach their place on the host.
/// The copy engine writes page-locked memory directly (a download into pageable memory goes through the driver's
/// own bounce buffer), and a result staged here reaches its target only when every download has finished, so a
/// device that fails part-way leaves the target as it was. Grows on demand and is reused, like
/// <see cref="DeviceBuffer{T}"/>.
/// </summary>
public sealed class HostStaging<T> : IDisposable
    where T : unmanaged
{
    private readonly Accelerator _accelerator;
    private PageLockedArray1D<T>? _array;

    public HostStaging(Accelerator accelerator) => _accelerator = accelerator;

    /// <summary>Makes room for <paramref name="length"/> elements; the contents are undefined after growing.</summary>
    public void Reserve(int length)
    {
        var need = Math.Max(1, length);
        if (_array is not null && _array.Length >= need) return;
        _array?.Dispose();
        _array = null;
        _array = _accelerator.AllocatePageLocked1D<T>(need, uninitialized: true);
    }

    /// <summary>
    /// Queues the download of <paramref name="source"/> into elements [<paramref name="offset"/>, + its length) on
    /// <paramref name="stream"/>, without waiting: the values are there once the stream is synchronised.
    /// </summary>
    public void DownloadAsync(AcceleratorStream stream, ArrayView<T> source, int offset)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (source.Length == 0) return;
        if (_array is null || offset < 0 || offset + source.Length > _array.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"elements [{offset}, +{source.Length}) exceed the {_array?.Length ?? 0} reserved");
        // The array is pinned and page-locked for its lifetime, so the device may write it after this returns.
        source.CopyToCPUUnsafeAsync(stream, ref _array.Span[offset], source.Length);
    }

    /// <summary>The first <paramref name="length"/> elements (read them after the stream is synchronised).</summary>
    public ReadOnlySpan<T> Values(int length)
    {
        if (_array is null || length > _array.Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"only {_array?.Length ?? 0} elements are reserved");
        return _array.Span[..length];
    }

    public void Dispose()
    {
        _array?.Dispose();
        _array = null;
    }
}
