using ILGPU;
using ILGPU.Runtime.Cuda;
using Meta.Gpu.Kernels;

namespace Meta.Gpu.Telemetry;

/// <summary>
/// Device telemetry for the <c>cuda</c> backend (DESIGN §13): the driver's memory info (cuMemGetInfo, through
/// ILGPU's <see cref="CudaAccelerator.GetFreeMemory"/> and <see cref="ILGPU.Runtime.Accelerator.MemorySize"/>):
/// used = total - free. "Used" is the whole device's, every process's allocations included — the pressure the
/// engine actually runs into.
/// </summary>
/// <remarks>
/// <para>Two ways to get one: share the engine's accelerator (<see cref="CudaMemoryTelemetrySource(KernelAccelerator, double)"/>,
/// or <see cref="DeviceTelemetry.ForBackend(Compute.IComputeBackend, double, TimeSpan?, Microsoft.Extensions.Logging.ILogger?)"/>), which costs nothing more
/// on the device; or <see cref="TryOpen"/>, which opens its own CUDA context (a few hundred MB of device memory,
/// as any CUDA context) and owns it until disposed.</para>
/// <para>Reads are serialised by a lock: ILGPU binds the accelerator's context to the calling thread for the query,
/// and a publisher timer may call from any thread.</para>
/// </remarks>
public sealed class CudaMemoryTelemetrySource : IDeviceTelemetrySource, IDisposable
{
    private readonly object _gate = new();
    private readonly Func<(long FreeBytes, long TotalBytes)> _readMemoryInfo;
    private readonly double _threshold;
    private readonly IDisposable? _owned;
    private bool _disposed;

    /// <summary>Reads the memory of the engine's CUDA accelerator; the accelerator stays the caller's (dispose it
    /// after this source is no longer used).</summary>
    /// <exception cref="ArgumentException">The accelerator is not a CUDA one.</exception>
    public CudaMemoryTelemetrySource(KernelAccelerator accelerator, double vramHighThreshold = DeviceMemorySample.DefaultVramHighThreshold)
        : this(Label(accelerator), ReaderOf(accelerator), vramHighThreshold, owned: null)
    {
    }

    /// <summary>The seam: <paramref name="readMemoryInfo"/> returns the driver's (free, total) in bytes.</summary>
    internal CudaMemoryTelemetrySource(string device, Func<(long FreeBytes, long TotalBytes)> readMemoryInfo, double vramHighThreshold, IDisposable? owned)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(readMemoryInfo);
        Device = device;
        _readMemoryInfo = readMemoryInfo;
        _threshold = DeviceMemorySample.CheckThreshold(vramHighThreshold, nameof(vramHighThreshold));
        _owned = owned;
    }

    public string Device { get; }

    /// <summary>
    /// Opens CUDA device <paramref name="ordinal"/> (default the first, the one the <c>cuda</c> backend uses) with a
    /// context of its own; null when the machine has no such device (no driver, no GPU). Throws when the device
    /// exists but its context cannot be created.
    /// </summary>
    public static CudaMemoryTelemetrySource? TryOpen(int ordinal = 0, double vramHighThreshold = DeviceMemorySample.DefaultVramHighThreshold)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ordinal);
        var context = Context.Create(builder => builder.Cuda());
        try
        {
            var devices = context.GetCudaDevices();
            if (ordinal >= devices.Count)
            {
                context.Dispose();
                return null;
            }
            var device = devices[ordinal];
            var accelerator = device.CreateCudaAccelerator(context);
            var owned = new OwnedCudaContext(context, accelerator);
            return new CudaMemoryTelemetrySource($"cuda:{ordinal} {device.Name}", () => Read(accelerator), vramHighThreshold, owned);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    public DeviceMemorySample Sample()
    {
        (long free, long total) info;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            info = _readMemoryInfo();
        }
        if (info.total <= 0 || info.free < 0)
            throw new InvalidOperationException($"{Device}: the driver reported free {info.free} of {info.total} bytes");
        return DeviceMemorySample.FromBytes(Math.Max(0, info.total - info.free), info.total, _threshold);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _owned?.Dispose();
        }
    }

    private static string Label(KernelAccelerator accelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        return $"cuda {accelerator.DeviceName}";
    }

    private static Func<(long, long)> ReaderOf(KernelAccelerator accelerator)
    {
        if (accelerator.Kind != DeviceKind.Cuda || accelerator.Accelerator is not CudaAccelerator cuda)
            throw new ArgumentException($"a CUDA accelerator is needed, got {DeviceKindNames.Of(accelerator.Kind)}", nameof(accelerator));
        return () => Read(cuda);
    }

    /// <summary>The driver's (free, total), with the accelerator's context bound to this thread for the query (CUDA
    /// contexts are per thread; the previous binding is restored).</summary>
    private static (long, long) Read(CudaAccelerator cuda)
    {
        using var binding = cuda.BindScoped();
        return (cuda.GetFreeMemory(), cuda.MemorySize);
    }

    private sealed class OwnedCudaContext(Context context, CudaAccelerator accelerator) : IDisposable
    {
        public void Dispose()
        {
            accelerator.Dispose();
            context.Dispose();
        }
    }
}
