using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace Meta.Gpu.Kernels;

/// <summary>
/// A device buffer that grows on demand and is reused across launches, so steady rounds allocate nothing.
/// Lengths of 0 still get a one-element buffer: kernels take views, never nulls.
/// </summary>
public sealed class DeviceBuffer<T> : IDisposable
    where T : unmanaged
{
    private readonly Accelerator _accelerator;
    private MemoryBuffer1D<T, Stride1D.Dense>? _buffer;

    public DeviceBuffer(Accelerator accelerator) => _accelerator = accelerator;

    /// <summary>Bytes held on the device.</summary>
    public long Bytes => _buffer is null ? 0 : _buffer.LengthInBytes;

    /// <summary>A view of <paramref name="length"/> elements; the contents are undefined after growing.</summary>
    public ArrayView<T> View(long length)
    {
        var need = Math.Max(1, length);
        if (_buffer is null || _buffer.Length < need)
        {
            _buffer?.Dispose();
            _buffer = null;
            _buffer = _accelerator.Allocate1D<T>(need);
        }
        return _buffer.View.SubView(0, need);
    }

    /// <summary>Copies <paramref name="source"/> to the start of the buffer and returns a view of it.</summary>
    public ArrayView<T> Upload(ReadOnlySpan<T> source)
    {
        var view = View(source.Length);
        if (source.Length > 0) Copy.ToDevice(_accelerator.DefaultStream, view.SubView(0, source.Length), source);
        return view;
    }

    public void Dispose()
    {
        _buffer?.Dispose();
        _buffer = null;
    }
}

/// <summary>
/// Copies between host spans and device views on a stream, finished before they return: the stream orders a
/// download after every kernel launched on it before, and the host span may be reused at once (pageable host
/// memory must never be read by the device after the call has returned).
/// </summary>
/// <remarks>
/// The host memory stays pinned until the copy has finished. ILGPU takes the span's first element by reference
/// and turns it into a raw pointer for the copy, with allocations in between; a garbage collection there moved a
/// small managed array (a prior, an aggregate, the row list) under the copy, which then read or wrote its old
/// place: rare wrong ilgpu-cpu results that never replayed with the same seed (an aggregate left at its old
/// values, a median read as 0) under the parallel test run's allocation load.
/// </remarks>
public static class Copy
{
    public static unsafe void ToDevice<T>(AcceleratorStream stream, ArrayView<T> target, ReadOnlySpan<T> source)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (source.Length == 0) return;
        ArrayView1D<T, Stride1D.Dense> dense = target.SubView(0, source.Length);
        fixed (T* pinned = source)
        {
            dense.CopyFromCPU(stream, ref *pinned, source.Length);
            stream.Synchronize();
        }
    }

    public static unsafe void ToHost<T>(AcceleratorStream stream, ArrayView<T> source, Span<T> target)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (target.Length == 0) return;
        ArrayView1D<T, Stride1D.Dense> dense = source.SubView(0, target.Length);
        fixed (T* pinned = target)
        {
            dense.CopyToCPU(stream, ref *pinned, target.Length);
            stream.Synchronize();
        }
    }
}
