using System.Text.Json.Nodes;
using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Bench;

/// <summary>
/// `meta-gpu bench` checks, after timing, that each peer's result on the batch agrees with the engine's on the
/// same batch (DESIGN §13's 1e-4 abs + 1e-4 rel), so that no ratio compares a wrong or different computation: the
/// numpy peer agrees on a real tiny run, and a peer that computes something else is flagged, with a warning and
/// exit 1 unless --allow-disagreement.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class PeerAgreementTests
{
    /// <summary>The system Python, which has numpy here (the python3 first on PATH may lack it).</summary>
    private const string SystemPython = "/usr/bin/python3";

    private static readonly string[] PeerWorkloads = ["weighted_mean", "reptile_step", "trimmed_mean", "median", "fused_trimmed_mean_reptile"];

    private static Task<(int Code, string Out, string Error)> RunAsync(params string[] args) => CliRun.RunAsync("", args);

    private static List<JsonObject> Rows(string outDir, string backend) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "bench.json")))!["results"]!.AsArray()
            .Select(r => r!.AsObject()).Where(r => r["backend"]!.GetValue<string>() == backend).ToList();

    /// <summary>The numpy peer of benchmarks/peers run by a Python that first rewrites it with <paramref name="sed"/>
    /// (a peer with a bug in one method).</summary>
    private static string NumpyPeerEditedBy(TempFolder folder, string sed) =>
        FakePython.Write(folder, $"script=\"$1\"; shift\nsed '{sed}' \"$script\" > '{folder.Path}/edited_peer.py'\nexec {SystemPython} '{folder.Path}/edited_peer.py' \"$@\"");

    [Fact]
    public async Task Every_numpy_row_of_a_real_run_agrees_with_the_engines_result_and_says_so()
    {
        Assert.True(File.Exists(SystemPython), $"{SystemPython} is needed (with numpy) for the numpy peer");
        using var folder = new TempFolder();
        // N = 20: trim_alpha 0.1 trims k = 2 rows from each end, so the trimmed mean really selects.
        var (code, output, error) = await RunAsync("bench", "--quick", "--n", "20", "--d", "300", "--repeats", "1", "--warmup", "0",
            "--workloads", string.Join(',', PeerWorkloads), "--backends", "cpu,numpy", "--python", SystemPython, "--out", folder.Path);
        Assert.True(code == 0, $"exit {code}: {error}\n{output}");

        var numpy = Rows(folder.Path, "numpy");
        Assert.Equal(PeerWorkloads.Length, numpy.Count);
        foreach (var row in numpy)
        {
            var what = row.ToJsonString();
            Assert.True(row["skipped"] is null, $"the numpy peer did not run: {what}");
            // Before: no agreement field at all; the ratios compared results nobody looked at.
            Assert.True(row["agrees"] is not null, $"no agreement reported: {what}");
            Assert.True(row["agrees"]!.GetValue<bool>(), what);
            Assert.Equal("cpu", row["checked_against"]!.GetValue<string>());
            Assert.InRange(row["max_abs_diff"]!.GetValue<double>(), 0, 1e-4);
            Assert.InRange(row["max_rel_diff"]!.GetValue<double>(), 0, 1e-4);
        }
        // The engine's own rows are what the peers are checked against, not checked themselves.
        Assert.All(Rows(folder.Path, "cpu"), r => Assert.Null(r["agrees"]));

        var md = File.ReadAllText(Path.Combine(folder.Path, "bench.md"));
        Assert.Contains("| read ref | agrees with the engine | other |", md, StringComparison.Ordinal);
        var trimmed = md.Split('\n').First(l => l.StartsWith("| trimmed_mean | numpy |", StringComparison.Ordinal));
        Assert.Contains("| yes (cpu, max abs diff ", trimmed, StringComparison.Ordinal);
        Assert.DoesNotContain("disagree", error + output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_peer_whose_trimmed_mean_trims_one_row_too_many_is_flagged_and_the_run_exits_one()
    {
        Assert.True(File.Exists(SystemPython), $"{SystemPython} is needed (with numpy) for the numpy peer");
        using var folder = new TempFolder();
        // The bug: the kept rows start one row late (s[k + 1:n - k]); the times alone look as plausible as ever.
        var python = NumpyPeerEditedBy(folder, "s/s\\[k:n - k\\]/s[k + 1:n - k]/");
        var outDir = Path.Combine(folder.Path, "out");
        string[] args = ["bench", "--quick", "--n", "20", "--d", "300", "--repeats", "1", "--warmup", "0",
            "--workloads", "trimmed_mean,median", "--backends", "cpu,numpy", "--python", python, "--out", outDir];

        var (code, output, error) = await RunAsync(args);

        // Before: exit 0 and a ratio of the engine's trimmed mean against a different computation.
        Assert.True(code == MetaGpuApp.ExitCheckFailed, $"exit {code}: {error}\n{output}");
        var trimmed = Rows(outDir, "numpy").Single(r => r["workload"]!.GetValue<string>() == "trimmed_mean");
        Assert.Null(trimmed["skipped"]);
        Assert.False(trimmed["agrees"]!.GetValue<bool>(), trimmed.ToJsonString());
        Assert.True(trimmed["max_abs_diff"]!.GetValue<double>() > 1e-3, trimmed.ToJsonString());
        Assert.Contains("column", trimmed["agreement"]!.GetValue<string>(), StringComparison.Ordinal);
        // Its median is untouched by the bug and still agrees.
        var median = Rows(outDir, "numpy").Single(r => r["workload"]!.GetValue<string>() == "median");
        Assert.True(median["agrees"]!.GetValue<bool>(), median.ToJsonString());

        Assert.Contains("warning: numpy trimmed_mean (20 x 300) disagrees with the engine", error, StringComparison.Ordinal);
        Assert.Contains("--allow-disagreement", error, StringComparison.Ordinal);
        var md = File.ReadAllText(Path.Combine(outDir, "bench.md"));
        Assert.Contains("| **NO**", md.Split('\n').First(l => l.StartsWith("| trimmed_mean | numpy |", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains("results disagree", md.Split('\n').Single(l => l.StartsWith("| trimmed_mean | 20 | 300 | cpu |", StringComparison.Ordinal)), StringComparison.Ordinal);

        // Opting out keeps the report and the warning but exits 0.
        (code, output, error) = await RunAsync([.. args, "--allow-disagreement"]);
        Assert.True(code == 0, $"exit {code}: {error}\n{output}");
        Assert.Contains("disagrees with the engine", error, StringComparison.Ordinal);
        Assert.False(Rows(outDir, "numpy").Single(r => r["workload"]!.GetValue<string>() == "trimmed_mean")["agrees"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_peer_result_of_zeros_is_flagged_as_disagreeing()
    {
        using var folder = new TempFolder();
        // Times that look fine and a result of D zeros, written where the bench asked.
        var python = FakePython.Write(folder,
            "while [ $# -gt 0 ]; do case \"$1\" in --results) out=\"$2\"; shift;; --d) d=\"$2\"; shift;; esac; shift; done\n" +
            "head -c $((4 * d)) /dev/zero > \"$out/weighted_mean.f32\"\n" +
            "echo '{\"version\":\"fake\",\"results\":{\"weighted_mean\":{\"times_ms\":[1.0]}}}'");
        var outDir = Path.Combine(folder.Path, "out");
        var (code, output, error) = await RunAsync("bench", "--quick", "--n", "4", "--d", "64", "--repeats", "1", "--warmup", "0",
            "--workloads", "weighted_mean", "--backends", "cpu,numpy", "--python", python, "--out", outDir);

        Assert.True(code == MetaGpuApp.ExitCheckFailed, $"exit {code}: {error}\n{output}");
        var row = Assert.Single(Rows(outDir, "numpy"));
        Assert.False(row["agrees"]!.GetValue<bool>(), row.ToJsonString());
        Assert.Contains("disagrees with the engine", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_peer_that_reports_no_result_is_marked_not_checked_and_the_run_still_succeeds()
    {
        using var folder = new TempFolder();
        var python = FakePython.Write(folder, "echo '{\"version\":\"fake\",\"results\":{\"weighted_mean\":{\"times_ms\":[1.0]}}}'");
        var outDir = Path.Combine(folder.Path, "out");
        var (code, output, error) = await RunAsync("bench", "--quick", "--n", "4", "--d", "64", "--repeats", "1", "--warmup", "0",
            "--workloads", "weighted_mean", "--backends", "cpu,numpy", "--python", python, "--out", outDir);

        Assert.True(code == 0, $"exit {code}: {error}\n{output}");
        var row = Assert.Single(Rows(outDir, "numpy"));
        Assert.Null(row["agrees"]);
        Assert.StartsWith("not checked: ", row["agreement"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("not checked", error, StringComparison.Ordinal);
    }
}
