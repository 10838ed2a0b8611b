using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Compute;

/// <summary>
/// Plugs the ILGPU backends (<c>cuda</c>, <c>opencl</c>, <c>ilgpu-cpu</c>) into <see cref="ComputeBackends"/> when
/// this assembly loads. The kernels assembly cannot do it itself: the dependency runs kernels &lt;- Meta.Gpu, so
/// <see cref="IlgpuBackend"/> lives here and registers here.
/// </summary>
/// <remarks>
/// Each factory is <see cref="IlgpuBackend.Create"/>, given the logger the backend is asked for with (it logs the
/// device it picked there): it returns a ready backend, or throws saying why the device
/// is absent or failed to start, which the registry turns into an input error (a named backend) or a fall-through
/// to the next candidate (<c>auto</c>). Registering touches no driver; devices are probed only when a backend is
/// asked for. A caller may still <see cref="ComputeBackends.Register(string, Func{IComputeBackend})"/> its own factory later, which replaces this.
/// </remarks>
internal static class IlgpuBackendRegistration
{
#pragma warning disable CA2255 // Registering the library's own backends with its own registry at load is the point.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
    {
        foreach (var name in new[] { ComputeBackends.Cuda, ComputeBackends.OpenCl, ComputeBackends.IlgpuCpu })
            ComputeBackends.Register(name, (ILogger logger) => IlgpuBackend.Create(name, logger));
    }
}
