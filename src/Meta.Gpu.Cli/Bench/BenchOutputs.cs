using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Storage;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Cli.Bench;

/// <summary>Writes <c>bench.json</c>, <c>bench.md</c> and <c>bench.png</c> (DESIGN §15) into one folder.</summary>
public static class BenchOutputs
{
    public const string JsonFile = "bench.json";
    public const string MarkdownFile = "bench.md";
    public const string ChartFile = "bench.png";

    public static void Write(BenchReport report, string folder)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(folder);
        // Each file whole or as it was: written beside and renamed over (a full disk left an empty bench.json).
        var utf8 = new UTF8Encoding(false);
        AtomicFile.WriteAllBytes(Path.Combine(folder, JsonFile), utf8.GetBytes(JsonSerializer.Serialize(report, WireJson.Indented) + "\n"));
        AtomicFile.WriteAllBytes(Path.Combine(folder, MarkdownFile), utf8.GetBytes(Markdown(report)));
        AtomicFile.WriteAllBytes(Path.Combine(folder, ChartFile), BenchChart.Png(report));
    }

    /// <summary>The machine, the bandwidth references (the host's and each device's), every row with the reference
    /// its share of read divides by, and the ratios of each peer to each engine backend.</summary>
    public static string Markdown(BenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var c = CultureInfo.InvariantCulture;
        var m = report.Machine;
        var md = new StringBuilder();
        md.AppendLine("# meta-gpu bench").AppendLine();
        md.AppendLine(c, $"- Machine: {m.Cpu}, {m.Cores} cores, SIMD {m.Simd}, GPU {m.Gpu ?? "none"} ({m.Os}; {m.Runtime})");
        md.AppendLine(c, $"- Run: {report.StartedUtc:yyyy-MM-dd HH:mm} UTC, {report.ElapsedS:0} s{(report.Quick ? ", --quick (smoke sizes, not figures)" : "")}");
        var samples = report.ReadBandwidthSamplesGbs.Count > 1
            ? $", the fastest of {report.ReadBandwidthSamplesGbs.Count} samples through the run: {string.Join(", ", report.ReadBandwidthSamplesGbs.Select(g => g.ToString("0.00", c)))} GB/s"
            : "";
        md.AppendLine(c, $"- Read bandwidth (host, the reference of host rows; same run): {report.ReadBandwidthGbs:0.00} GB/s (vectorised sum over {report.BandwidthArrayMb} MB float32, {report.BandwidthThreads} threads{samples}); copy bandwidth: {report.CopyBandwidthGbs:0.00} GB/s (read + written)");
        foreach (var (name, figure) in report.DeviceBandwidth)
        {
            var users = report.Results.Where(r => r.ReadReference == name).Select(r => r.Backend).Distinct().ToList();
            var use = users.Count > 0 ? $" Reference of the share of read of: {string.Join(", ", users)}." : "";
            md.AppendLine(c, $"- {DeviceBandwidthProbe.Describe(name, figure)}.{use}");
        }
        md.AppendLine(c, $"- Configuration: {report.Configuration}");
        md.AppendLine(c, $"- Agreement: after the timed calls each peer's result on the same batch is checked against the engine's, within {PeerAgreement.Tolerance}");
        foreach (var (peer, state) in report.Peers) md.AppendLine(c, $"- Peer {peer}: {state}");
        md.AppendLine();
        md.AppendLine("| workload | backend | N | D | median ms | min ms | max ms | repeats | GB/s | share of read | read ref | agrees with the engine | other |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|");
        foreach (var r in report.Results)
        {
            var other = r.Skipped is not null ? $"skipped: {r.Skipped}" : Other(r);
            md.AppendLine(c, $"| {r.Workload} | {r.Backend} | {r.N} | {r.D} | {BenchText.Ms(r.MedianMs)} | {BenchText.Ms(r.MinMs)} | {BenchText.Ms(r.MaxMs)} | {r.Repeats} | {Fixed(r.Gbs, "0.00")} | {Percent(r.ShareOfRead)} | {r.ReadReference ?? "-"} | {AgreementText(r).Replace("|", "/", StringComparison.Ordinal)} | {other.Replace("|", "/", StringComparison.Ordinal)} |");
        }
        md.AppendLine();
        md.AppendLine("## Ratios to the peers (same data, same run)").AppendLine();
        md.AppendLine("Peer median time / ours: above 1 means the engine is faster.").AppendLine();
        var ratios = Ratios(report).ToList();
        if (ratios.Count == 0)
        {
            md.AppendLine("No peer was timed beside an engine backend in this run.");
        }
        else
        {
            md.AppendLine("| workload | N | D | ours | ours ms | peer | peer ms | ratio |");
            md.AppendLine("|---|---:|---:|---|---:|---|---:|---:|");
            foreach (var (ours, peer) in ratios)
                md.AppendLine(c, $"| {ours.Workload} | {ours.N} | {ours.D} | {ours.Backend} | {BenchText.Ms(ours.MedianMs)} | {peer.Backend} | {BenchText.Ms(peer.MedianMs)} | {Ratio(peer.MedianMs!.Value / ours.MedianMs!.Value)}{(TrimsNothing(ours, report.TrimAlpha) ? " (k = 0)" : "")}{(peer.Agrees == false ? " (**results disagree**)" : "")} |");
            if (ratios.Any(r => r.Peer.Agrees == false))
                md.AppendLine().AppendLine("(**results disagree**): the peer's result differs from the engine's on the same batch (see its row above): that ratio compares different computations.");
            if (ratios.Any(r => TrimsNothing(r.Ours, report.TrimAlpha)))
                md.AppendLine().AppendLine(c, $"(k = 0): at trim_alpha {report.TrimAlpha} and this N no row is trimmed, so the engine's trimmed mean is a weighted mean while the peers still sort the rows: that ratio is not the two algorithms'.");
        }
        return md.ToString();
    }

    /// <summary>Each timed engine row paired with each timed peer row of the same workload and size.</summary>
    public static IEnumerable<(BenchResult Ours, BenchResult Peer)> Ratios(BenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var timed = report.Results.Where(r => r.Skipped is null && r.MedianMs > 0).ToList();
        // ilgpu-cpu exists to test the kernels, not to be fast: it is compared with nobody.
        foreach (var ours in timed.Where(r => !BenchBackends.IsPeer(r.Backend) && r.Backend != BenchBackends.IlgpuCpu))
            foreach (var peer in timed.Where(p => BenchBackends.IsPeer(p.Backend) && p.Workload == ours.Workload && p.N == ours.N && p.D == ours.D))
                yield return (ours, peer);
    }

    /// <summary>A trimmed-mean row whose k = floor(alpha x N) is 0: the engine (DESIGN §4) trims nothing and needs no
    /// selection at all, while the peers' sort-based trimmed mean sorts anyway (a --quick run's N of 8).</summary>
    private static bool TrimsNothing(BenchResult ours, double trimAlpha) =>
        ours.Workload is BenchWorkloads.TrimmedMean or BenchWorkloads.FusedTrimmedMeanReptile
        && ColumnRules.TrimCount(trimAlpha, ours.N) == 0;

    /// <summary>A peer row's agreement with the engine: yes with the worst difference, NO with what differed, or why
    /// it was not checked; blank on engine rows and skipped rows.</summary>
    public static string AgreementText(BenchResult r) => r.Agrees switch
    {
        true => string.Create(CultureInfo.InvariantCulture, $"yes ({r.CheckedAgainst}, max abs diff {r.MaxAbsDiff:0.##e+0}, rel {r.MaxRelDiff:0.##e+0})"),
        false => r.CheckedAgainst is null ? $"**NO**: {r.Agreement}" : $"**NO** ({r.CheckedAgainst}): {r.Agreement}",
        null => r.Agreement ?? "",
    };

    private static string Ratio(double ratio) =>
        ratio.ToString(ratio < 0.1 ? "0.000" : ratio < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture) + "x";

    private static string Other(BenchResult r)
    {
        var parts = new List<string>();
        if (r.KernelMedianMs is { } k)
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"kernels alone {BenchText.Ms(k)} ms, {Fixed(r.KernelGbs, "0.0")} GB/s, {Percent(r.KernelShareOfRead)} of read (device events)"));
        if (r.PriorUploads is { } uploads) parts.Add($"prior uploaded {uploads} times in {r.Repeats} calls");
        if (r.OpsPerS is { } ops) parts.Add($"{BenchText.Count(ops)}/s");
        if (r.AllocatedBytesPerOp is { } a) parts.Add(string.Create(CultureInfo.InvariantCulture, $"{a:0.###} B allocated/op"));
        if (r.Lost is { } lost) parts.Add($"lost {lost}");
        return string.Join(", ", parts);
    }

    private static string Fixed(double? value, string format) => value?.ToString(format, CultureInfo.InvariantCulture) ?? "-";

    private static string Percent(double? share) => share is { } s ? (s * 100).ToString("0", CultureInfo.InvariantCulture) + "%" : "-";
}
