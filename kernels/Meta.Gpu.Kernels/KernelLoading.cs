using System.Reflection;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;

namespace Meta.Gpu.Kernels;

/// <summary>
/// Compiles a kernel for an accelerator and loads it, as ILGPU's <c>LoadAutoGroupedKernel</c> / <c>LoadKernel</c>
/// would, except that PTX (CUDA) is first given explicit rounding (<see cref="RoundedPtx"/>): the one way to keep
/// ptxas from fusing the kernels' float64 products into their sums, since ILGPU has no such option and the CUDA
/// driver's JIT takes none. Every accelerator goes through the same compile-then-load path, so the CPU accelerator's
/// tests exercise it; only the PTX text differs.
/// </summary>
public static class KernelLoading
{
    /// <summary>An implicitly grouped kernel (first parameter an index), launched as <typeparamref name="TLauncher"/>
    /// (an <c>Action&lt;AcceleratorStream, TIndex, ...&gt;</c>).</summary>
    public static TLauncher AutoGrouped<TLauncher>(Accelerator accelerator, Delegate kernel) where TLauncher : Delegate
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        ArgumentNullException.ThrowIfNull(kernel);
        var compiled = Compile(accelerator, EntryPointDescription.FromImplicitlyGroupedKernel(kernel.Method));
        return accelerator.LoadAutoGroupedKernel(compiled).CreateLauncherDelegate<TLauncher>();
    }

    /// <summary>An explicitly grouped kernel, launched as <typeparamref name="TLauncher"/> (an
    /// <c>Action&lt;AcceleratorStream, KernelConfig, ...&gt;</c>).</summary>
    public static TLauncher Grouped<TLauncher>(Accelerator accelerator, Delegate kernel) where TLauncher : Delegate
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        ArgumentNullException.ThrowIfNull(kernel);
        var compiled = Compile(accelerator, EntryPointDescription.FromExplicitlyGroupedKernel(kernel.Method));
        return accelerator.LoadKernel(compiled).CreateLauncherDelegate<TLauncher>();
    }

    /// <summary>The kernel compiled by <paramref name="backend"/>; PTX comes back with every operation rounded.</summary>
    public static CompiledKernel Compile(Backend backend, EntryPointDescription entry)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var compiled = backend.Compile(entry, KernelSpecialization.Empty);
        return compiled is PTXCompiledKernel ptx ? WithPtx(ptx, RoundedPtx.RoundEachOperation(ptx.PTXAssembly)) : compiled;
    }

    private static CompiledKernel Compile(Accelerator accelerator, EntryPointDescription entry) =>
        Compile(accelerator.GetBackend(), entry);

    // ILGPU 1.5.3 builds a PTXCompiledKernel only from its own code generator's text (an internal constructor and
    // entry point). Both are looked up once, the constructor by its exact parameters, so an ILGPU update that changes
    // them fails here, with this message, on every machine (DeviceCodeGenerationTests compile every kernel through
    // it), not only on a GPU.
    private static readonly ConstructorInfo? PtxKernelConstructor = typeof(PTXCompiledKernel).GetConstructor(
        BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, binder: null,
        [typeof(Context), typeof(EntryPoint), typeof(KernelInfo), typeof(string)], modifiers: null);

    private static readonly PropertyInfo? EntryPointProperty = typeof(CompiledKernel).GetProperty(
        nameof(EntryPoint), BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);

    private static PTXCompiledKernel WithPtx(PTXCompiledKernel kernel, string ptx)
    {
        if (PtxKernelConstructor is null || EntryPointProperty?.GetValue(kernel) is not EntryPoint entryPoint)
            throw new InvalidOperationException($"ILGPU {typeof(PTXCompiledKernel).Assembly.GetName().Version} has no PTXCompiledKernel(Context, EntryPoint, KernelInfo, string) constructor or CompiledKernel.EntryPoint: the kernels' rounded PTX cannot be loaded (see RoundedPtx)");
        return (PTXCompiledKernel)PtxKernelConstructor.Invoke([kernel.Context, entryPoint, kernel.Info, ptx]);
    }
}
