using System.Globalization;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Meta.Gpu.Benchmarks;
using Meta.Gpu.Compute;

// dotnet run -c Release --project benchmarks/Meta.Gpu.Benchmarks -- --filter '*' [--inprocess] [--matrix] [BenchmarkDotNet options]
// A short job (1 launch, 2 warm-ups, 6 iterations) keeps a full run within a few minutes on 2 cores; --job NAME
// (dry, short, medium, long, default) replaces it.
// --matrix adds AggregationMatrix (every method x backend x N {16,64,256} x D {1K,64K,1M}): long, so opt-in.
var inProcess = args.Contains("--inprocess");
var matrix = args.Contains("--matrix");
args = args.Where(a => a is not ("--inprocess" or "--matrix")).ToArray();

// BenchmarkDotNet takes a config's default job as the base job and then ignores its own --job (-j): `--job dry` ran
// the whole short job. A job named on the command line replaces the short job here instead.
var jobIndex = Array.FindIndex(args, a => a is "--job" or "-j");
var named = jobIndex >= 0 && jobIndex + 1 < args.Length ? args[jobIndex + 1].ToLowerInvariant() switch
{
    "dry" => Job.Dry,
    "short" => Job.ShortRun,
    "medium" => Job.MediumRun,
    "long" => Job.LongRun,
    "default" => Job.Default,
    _ => null,
} : null;
var job = named is not null
    ? named.WithId(inProcess ? $"{named.Id.ToLowerInvariant()}-inprocess" : named.Id.ToLowerInvariant())
    : Job.Default.WithId(inProcess ? "short-inprocess" : "short").WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(6);
if (inProcess) job = job.WithToolchain(InProcessEmitToolchain.Instance);
var config = DefaultConfig.Instance
    .AddJob(job.AsDefault())
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Median)
    .AddColumn(new BandwidthColumn(share: false), new BandwidthColumn(share: true))
    .WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared))
    .AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory)
    // Building the generated project takes minutes on a busy 2-core machine; the default 2-minute limit fails it.
    .WithBuildTimeout(TimeSpan.FromMinutes(10));

var types = typeof(ReadBandwidth).Assembly.GetTypes()
    .Where(t => t.IsPublic && !t.IsAbstract && t.GetMethods().Any(m => m.IsDefined(typeof(BenchmarkDotNet.Attributes.BenchmarkAttribute), false)))
    .Where(t => matrix || t != typeof(AggregationMatrix))
    .ToArray();
var summaries = BenchmarkSwitcher.FromTypes(types).Run(args, config).ToList();
BandwidthReport.Write(summaries, Console.Out);

/// <summary>One table over every summary of the run: workload, shape, median ms, GB/s, share of the read bandwidth.</summary>
internal static class BandwidthReport
{
    public static void Write(IReadOnlyList<Summary> summaries, TextWriter output)
    {
        var rows = summaries
            .SelectMany(s => s.BenchmarksCases.Select(c => (Summary: s, Case: c)))
            .Where(x => x.Summary[x.Case]?.ResultStatistics is not null)
            .Select(x => (
                Workload: WorkloadBytes.Workload(x.Case),
                Shape: WorkloadBytes.ShapeOf(x.Case),
                MedianMs: x.Summary[x.Case]!.ResultStatistics!.Median / 1e6,
                Gbs: BandwidthColumn.GigabytesPerSecond(x.Summary, x.Case)))
            .ToList();
        if (rows.Count == 0) return;
        var read = rows.FirstOrDefault(r => r.Workload == "read_bandwidth").Gbs;
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            $"Machine: {Environment.ProcessorCount} logical cores, cpu backend {CpuBackend.VectorWidth} (Vector512 accelerated: {Vector512.IsHardwareAccelerated})",
            "",
            "| workload | N x D | median ms | GB/s | share of read |",
            "|---|---|---:|---:|---:|",
        };
        foreach (var r in rows)
        {
            var share = read is > 0 && r.Gbs is double g ? (g / read.Value).ToString("P0", inv) : "-";
            lines.Add($"| {r.Workload} | {r.Shape} | {r.MedianMs.ToString(r.MedianMs < 0.1 ? "0.000000" : "F2", inv)} | {(r.Gbs?.ToString("F1", inv) ?? "-")} | {share} |");
        }
        foreach (var line in lines) output.WriteLine(line);
        var folder = Path.Combine("BenchmarkDotNet.Artifacts", "results");
        Directory.CreateDirectory(folder);
        File.WriteAllLines(Path.Combine(folder, "meta-gpu-bandwidth.md"), lines);
    }
}
