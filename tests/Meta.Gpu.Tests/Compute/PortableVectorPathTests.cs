using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using System.Text.RegularExpressions;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The cpu kernels' path for 128-bit vector hardware (Arm64, x64 without AVX2: <c>PortableVector256</c>) runs only
/// where the hardware lacks 256-bit vectors, which the machines these tests usually run on have. This runs the
/// kernels' agreement and fast-path tests again in a child process with AVX turned off (<c>DOTNET_EnableAVX=0</c>:
/// .NET then runs each Vector256 as two Vector128 halves, as on Arm64), so that path stays checked against the exact
/// path and the float64 reference. That run found a signed-zero difference the first time (the fortieth session).
/// </summary>
public sealed partial class PortableVectorPathTests
{
    private static readonly string[] KernelClasses =
    [
        "*.CpuBackendAgreementTests", "*.CpuFastKernelTests", "*.CpuMedianKernelTests", "*.CpuWeightedMedianKernelTests",
        "*.CpuTrimmedMeanKernelTests", "*.CpuWeightedMeanKernelTests", "*.CpuFastKernelAdversarialValuesTests",
        "*.CpuRowDistanceTests", "*.DenseReptileTests", "*.OrderedKeysTests",
    ];

    [Fact]
    public async Task The_cpu_kernels_agree_with_the_exact_path_on_128_bit_vectors()
    {
        Assert.SkipUnless(Avx2.IsSupported, "without AVX2 every test here runs the 128-bit path already");
        var start = new ProcessStartInfo(CliRun.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(PortableVectorPathTests).Assembly.Location);
        foreach (var name in KernelClasses)
        {
            start.ArgumentList.Add("-class");
            start.ArgumentList.Add(name);
        }
        start.Environment["DOTNET_EnableAVX"] = "0";
        // A test platform's own variables would make the child talk to this run's host instead of running alone.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("TESTINGPLATFORM_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);

        using var process = Process.Start(start)!;
        var (finished, code, output, error) = await CliRun.FinishAsync(process, TimeSpan.FromMinutes(8));
        var text = output + error;
        Assert.True(finished, $"the kernels' tests with DOTNET_EnableAVX=0 did not finish in 8 minutes:\n{Tail(text)}");
        var summary = Summary().Match(text);
        Assert.True(code == 0 && summary.Success, $"the kernels' tests with DOTNET_EnableAVX=0 exited {code}:\n{Tail(text)}");
        Assert.True(int.Parse(summary.Groups["total"].Value, System.Globalization.CultureInfo.InvariantCulture) >= 100,
            $"too few tests ran with DOTNET_EnableAVX=0 (a class renamed?): {summary.Value}");
        Assert.Equal("0", summary.Groups["failed"].Value);
    }

    private static string Tail(string text) => text.Length <= 6000 ? text : text[^6000..];

    [GeneratedRegex(@"Total: (?<total>\d+), Errors: \d+, Failed: (?<failed>\d+)")]
    private static partial Regex Summary();
}
