using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// Compiles every kernel with ILGPU's PTX (for an H100, sm_90) and OpenCL C backends, which needs no device: what the
/// CUDA and OpenCL paths would load is generated here on every machine. Running it still needs the device
/// (see <see cref="GpuDeviceTests"/>).
/// </summary>
public sealed class DeviceCodeGenerationTests
{
    /// <summary>Every kernel entry point: the public static methods of Meta.Gpu.Kernels whose first parameter is an Index1D
    /// (implicitly grouped), and the public static void methods of <see cref="ExplicitlyGrouped"/>'s kernels.</summary>
    public static TheoryData<string> Kernels()
    {
        var data = new TheoryData<string>();
        foreach (var method in EntryPoints()) data.Add($"{method.DeclaringType!.Name}.{method.Name}");
        return data;
    }

    /// <summary>Kernels launched with a group configuration (their methods take no index).</summary>
    private static readonly Type[] ExplicitlyGrouped = [typeof(SortedRunsMedianKernel), typeof(SortedRunsTrimmedMeanKernel), typeof(BitonicWeightedMedianKernel)];

    private static IEnumerable<MethodInfo> EntryPoints() =>
        typeof(KernelSet).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => (m.GetParameters() is [var first, ..] && first.ParameterType == typeof(Index1D))
                || (ExplicitlyGrouped.Contains(m.DeclaringType) && m.ReturnType == typeof(void)))
            .OrderBy(m => m.DeclaringType!.Name, StringComparer.Ordinal).ThenBy(m => m.Name, StringComparer.Ordinal);

    private static EntryPointDescription Entry(MethodInfo method) => ExplicitlyGrouped.Contains(method.DeclaringType)
        ? EntryPointDescription.FromExplicitlyGroupedKernel(method)
        : EntryPointDescription.FromImplicitlyGroupedKernel(method);

    private static MethodInfo Find(string name) => EntryPoints().Single(m => $"{m.DeclaringType!.Name}.{m.Name}" == name);

    private static Context NewContext() => Context.Create(builder => builder.Math(MathMode.Default).EnableAlgorithms());

    /// <summary>The KernelSet's 16 (four explicitly grouped), and ReadStreamKernel's 2 (Run, Fill), which DeviceBandwidth loads itself.</summary>
    [Fact]
    public void EveryKernelIsLoadedByTheKernelSet() =>
        Assert.Equal(16 + 2, EntryPoints().Count());

    [Theory]
    [MemberData(nameof(Kernels))]
    public void CompilesToPtxForAnH100(string kernel)
    {
        using var context = NewContext();
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90,
            CudaInstructionSet.ISA_80, nvvmAPI: null);
        var method = Find(kernel);
        var compiled = (PTXCompiledKernel)KernelLoading.Compile(backend, Entry(method));
        // benchmarks/device/gpu-checks.sh assembles these with ptxas (registers, spills, fused products).
        if (Environment.GetEnvironmentVariable("META_GPU_DUMP_PTX") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, kernel + ".ptx"), compiled.PTXAssembly);
        }
        // ILGPU writes the lowest target the code needs (sm_80 here), which an sm_90 driver loads.
        Assert.Contains(".target sm_", compiled.PTXAssembly, StringComparison.Ordinal);
        // The float64 decision arithmetic stays float64 on the device.
        if (method.GetParameters().Any(p => p.ParameterType == typeof(ArrayView<double>)))
            Assert.Contains(".f64", compiled.PTXAssembly, StringComparison.Ordinal);
        Assert.Contains(".entry", compiled.PTXAssembly, StringComparison.Ordinal);
        // What the CUDA accelerator loads: no multiply left that ptxas could fuse into an add (RoundedPtx).
        Assert.True(RoundedPtx.HasNoFusableOperation(compiled.PTXAssembly), "a plain add, sub or mul is left in the PTX");
    }

    /// <summary>
    /// Why <see cref="KernelLoading"/> rewrites the PTX: ILGPU 1.5.3 writes float64 products and sums without a
    /// rounding modifier, which ptxas may fuse into one fma (it did in nine kernels). Should an ILGPU update write
    /// them rounded, this fails, and the rewrite may go.
    /// </summary>
    [Fact]
    public void IlgpuWritesFloat64ProductsThatPtxasMayFuse()
    {
        using var context = NewContext();
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90,
            CudaInstructionSet.ISA_80, nvvmAPI: null);
        var ptx = ((PTXCompiledKernel)backend.Compile(Entry(Find("WeightedMeanKernel.Run")), KernelSpecialization.Empty)).PTXAssembly;
        Assert.Contains("mul.f64", ptx, StringComparison.Ordinal);
        Assert.Contains("add.f64", ptx, StringComparison.Ordinal);
        Assert.False(RoundedPtx.HasNoFusableOperation(ptx));
    }

    [Theory]
    [InlineData("TrimmedMeanNetworkKernel.Run")]
    [InlineData("MedianNetworkKernel.Combine")]
    [InlineData("MedianNetworkKernel.Medians")]
    [InlineData("WeightedMedianNetworkKernel.Combine")]
    [InlineData("SortedRunsMedianKernel.Combine")]
    [InlineData("SortedRunsMedianKernel.Medians")]
    [InlineData("SortedRunsTrimmedMeanKernel.Combine")]
    public void TheNetworkKernelsKeepTheirListsInRegisters(string kernel)
    {
        using var context = NewContext();
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90,
            CudaInstructionSet.ISA_80, nvvmAPI: null);
        var method = Find(kernel);
        var ptx = ((PTXCompiledKernel)KernelLoading.Compile(backend, Entry(method))).PTXAssembly;
        // 96 values (the lists), 128 (64 pairs) or a run of 32 live at once: local memory (a spilled array or struct) would cost a memory round trip per
        // comparator. The one local allowed is the exact walks' 4-byte non-finite flag (their out parameter).
        var locals = System.Text.RegularExpressions.Regex.Matches(ptx, @"\.local \.align \d+ \.b8 \w+\[(\d+)\]")
            .Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(locals <= 4, $"{locals} bytes of local memory");
        // The networks' comparators: min/max over values, or compare-and-select over (value, row) pairs.
        Assert.True(ptx.Contains("min.f32", StringComparison.Ordinal) || ptx.Contains("selp.b32", StringComparison.Ordinal), "no comparator in the PTX");
    }

    /// <summary>
    /// Why <see cref="SortedRuns"/> bisects over keys held in longs: ILGPU 1.5.3 writes an unsigned 32-bit halving as
    /// an arithmetic shift, so a uint span of 2^31 or more halves to a negative step on the GPU (a hang there, while
    /// ILGPU's CPU accelerator, which runs the .NET code, gets it right). Should an ILGPU update halve it logically,
    /// this fails, and the longs may go.
    /// </summary>
    [Fact]
    public void IlgpuHalvesAnUnsignedIntWithASignedShift()
    {
        using var context = NewContext();
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90,
            CudaInstructionSet.ISA_80, nvvmAPI: null);
        var method = typeof(DeviceCodeGenerationTests).GetMethod(nameof(HalveUnsigned), BindingFlags.NonPublic | BindingFlags.Static)!;
        var ptx = ((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromImplicitlyGroupedKernel(method), KernelSpecialization.Empty)).PTXAssembly;
        Assert.Contains("shr.s32", ptx, StringComparison.Ordinal);
        Assert.DoesNotContain("shr.u32", ptx, StringComparison.Ordinal);
    }

    private static void HalveUnsigned(Index1D index, ArrayView<uint> values) => values[index] = values[index] / 2;

    [Theory]
    [MemberData(nameof(Kernels))]
    public void CompilesToOpenCL20WithFloat64(string kernel)
    {
        using var context = NewContext();
        var capabilities = new CLCapabilityContext(float16: false, float64: true, genericAddressSpace: true, int64_Atomics: false, subGroups: false);
        using var backend = new CLBackend(context, capabilities, CLDeviceVendor.Nvidia, CLCVersion.CL20);
        var compiled = (CLCompiledKernel)backend.Compile(Entry(Find(kernel)), KernelSpecialization.Empty);
        Assert.Contains("kernel", compiled.Source, StringComparison.Ordinal);
    }
}
