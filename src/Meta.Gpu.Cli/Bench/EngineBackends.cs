using Meta.Gpu.Compute;

namespace Meta.Gpu.Cli.Bench;

/// <summary>Starts an engine backend by name for the bench, or says why it cannot.</summary>
/// <remarks>
/// <c>cpu</c> and registered device backends come from <see cref="ComputeBackends"/> (a device backend wrapped in its
/// CPU fallback; see <see cref="FellBack"/>). A device backend nobody registered is started directly as an
/// <see cref="IlgpuBackend"/>, bare: the bench times the device, and a failure there must show.
/// </remarks>
public static class EngineBackends
{
    public static (IComputeBackend? Backend, string? Reason) TryCreate(string name, bool baselineDeviceKernels = false)
    {
        try
        {
            if (name == BenchBackends.Cpu || ComputeBackends.IsRegistered(name))
                return (Configure(ComputeBackends.Create(name), baselineDeviceKernels), null);
            var device = IlgpuBackend.TryCreate(name);
            return device is null ? (null, $"no usable {name} device on this machine") : (Configure(device, baselineDeviceKernels), null);
        }
        catch (InvalidInputException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>The ILGPU device behind <paramref name="backend"/> (bare, or the primary of its fallback); null for cpu.</summary>
    public static IlgpuBackend? Device(IComputeBackend backend) => backend switch
    {
        IlgpuBackend device => device,
        FallbackBackend { Primary: IlgpuBackend device } => device,
        _ => null,
    };

    private static IComputeBackend Configure(IComputeBackend backend, bool baselineDeviceKernels)
    {
        if (Device(backend) is { } device) device.DenseKernels = !baselineDeviceKernels;
        return backend;
    }

    /// <summary>
    /// Why figures from <paramref name="backend"/> are not its own: a device backend that failed over to cpu
    /// (<see cref="FallbackBackend"/>) finished its rounds on the CPU, so they are reported skipped, not as the device's.
    /// </summary>
    public static string? FellBack(IComputeBackend backend) =>
        backend is FallbackBackend { Failures: > 0 } f
            ? $"{f.Primary.Name} failed and fell back to cpu: {f.LastFailure?.Message}"
            : null;
}
