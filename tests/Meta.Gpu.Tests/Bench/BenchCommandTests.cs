using System.Text.Json.Nodes;
using Meta.Gpu.Cli;
using Meta.Gpu.Cli.Bench;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Bench;

/// <summary>`meta-gpu bench --quick` in process at tiny sizes: the three files and the §15 fields (not speed).</summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class BenchCommandTests
{
    private static readonly string[] ResultFields =
        ["workload", "backend", "n", "d", "median_ms", "min_ms", "max_ms", "repeats", "gbs", "share_of_read", "skipped"];

    private static Task<(int Code, string Out, string Error)> RunAsync(params string[] args) => CliRun.RunAsync("", args);

    [Fact]
    public async Task A_peer_without_the_workloads_method_gets_a_skipped_row_saying_so()
    {
        using var folder = new TempFolder();
        var (code, _, error) = await RunAsync("bench", "--quick", "--n", "4", "--d", "64", "--repeats", "1", "--warmup", "0",
            "--workloads", "weighted_median", "--backends", "numpy", "--out", folder.Path);
        Assert.True(code == 0, $"exit {code}: {error}");

        // No row at all before: nothing said why the run measured nothing.
        var row = Assert.Single(JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "bench.json")))!["results"]!.AsArray())!.AsObject();
        Assert.Equal("weighted_median", row["workload"]!.GetValue<string>());
        Assert.Equal("numpy", row["backend"]!.GetValue<string>());
        Assert.Contains("no such method", row["skipped"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task QuickRunWritesJsonTableAndChartWithTheDesignFields()
    {
        using var folder = new TempFolder();
        var (code, output, error) = await RunAsync(
            "bench", "--quick", "--n", "4", "--d", "64", "--repeats", "2", "--warmup", "0",
            "--workloads", "weighted_mean,trimmed_mean,governance_update,bus_delivery,agent_round",
            // torchsharp is left out here: libtorch leaves a foreground thread that holds the test host for 10 s.
            "--backends", "cpu,numpy,pytorch,cuda",
            "--out", folder.Path);
        Assert.True(code == 0, $"exit {code}: {error}");
        Assert.Contains("bench [", output, StringComparison.Ordinal); // plain progress lines when not a terminal

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "bench.json")))!.AsObject();
        var machine = json["machine"]!.AsObject();
        Assert.False(string.IsNullOrWhiteSpace(machine["cpu"]!.GetValue<string>()));
        Assert.Equal(Environment.ProcessorCount, machine["cores"]!.GetValue<int>());
        Assert.Equal(MachineInfo.SimdLevel(), machine["simd"]!.GetValue<string>());
        Assert.True(machine.ContainsKey("gpu"));
        Assert.True(json["read_bandwidth_gbs"]!.GetValue<double>() > 0);
        Assert.True(json["copy_bandwidth_gbs"]!.GetValue<double>() > 0);

        var results = json["results"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.NotEmpty(results);
        foreach (var r in results)
        {
            foreach (var field in ResultFields) Assert.True(r.ContainsKey(field), $"result lacks {field}: {r.ToJsonString()}");
            if (r["skipped"] is null)
            {
                var median = r["median_ms"]!.GetValue<double>();
                Assert.InRange(median, r["min_ms"]!.GetValue<double>(), r["max_ms"]!.GetValue<double>());
                Assert.Equal(2, r["repeats"]!.GetValue<int>());
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace(r["skipped"]!.GetValue<string>()));
                Assert.Null(r["median_ms"]);
                Assert.Null(r["gbs"]);
            }
        }

        // Every requested pair has a row; the engine's dense rows carry a bandwidth and its share of the read one.
        var pairs = results.Select(r => (r["workload"]!.GetValue<string>(), r["backend"]!.GetValue<string>())).ToHashSet();
        foreach (var w in new[] { "weighted_mean", "trimmed_mean" })
            foreach (var b in new[] { "cpu", "numpy", "pytorch", "cuda" })
                Assert.Contains((w, b), pairs);
        var cpu = results.Single(r => r["workload"]!.GetValue<string>() == "trimmed_mean" && r["backend"]!.GetValue<string>() == "cpu");
        Assert.Null(cpu["skipped"]);
        Assert.Equal(4, cpu["n"]!.GetValue<int>());
        Assert.Equal(64, cpu["d"]!.GetValue<int>());
        Assert.True(cpu["gbs"]!.GetValue<double>() > 0);
        Assert.True(cpu["share_of_read"]!.GetValue<double>() > 0);

        var governance = results.Single(r => r["workload"]!.GetValue<string>() == "governance_update");
        Assert.Null(governance["skipped"]);
        Assert.Equal(0.0, governance["allocated_bytes_per_op"]!.GetValue<double>());
        var bus = results.Single(r => r["workload"]!.GetValue<string>() == "bus_delivery");
        Assert.Null(bus["skipped"]);
        Assert.Equal(0, bus["lost"]!.GetValue<long>());
        Assert.True(bus["ops_per_s"]!.GetValue<double>() > 0);

        var agent = results.Single(r => r["workload"]!.GetValue<string>() == "agent_round");
        Assert.Null(agent["skipped"]);
        Assert.Equal(4, agent["n"]!.GetValue<int>());

        var md = File.ReadAllText(Path.Combine(folder.Path, "bench.md"));
        Assert.Contains("| workload | backend | N | D | median ms |", md, StringComparison.Ordinal);
        Assert.Contains("Read bandwidth", md, StringComparison.Ordinal);
        Assert.Contains("## Ratios to the peers", md, StringComparison.Ordinal);

        var png = File.ReadAllBytes(Path.Combine(folder.Path, "bench.png"));
        Assert.True(png.Length > 1000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
    }

    [Theory]
    [InlineData("--workloads", "sort", "--workloads")]
    [InlineData("--backends", "tpu", "--backends")]
    [InlineData("--workloads", ",", "--workloads")] // an empty list: a run of no rows
    [InlineData("--backends", " , ", "--backends")]
    [InlineData("--repeats", "0", "--repeats")]
    [InlineData("--n", "0", "--n")]
    [InlineData("--d", "0", "--d")]
    [InlineData("--warmup", "-1", "--warmup")]
    [InlineData("--n", "600000", "--n x --d")] // with --quick's D of 4,096: past one array's cells
    [InlineData("--d", "300000000", "--n x --d")] // with --quick's N of 8
    [InlineData("--d", "2147483647", "--d")] // its padded row overflowed an int: a crash (exit 134), not a refusal
    [InlineData("--device-bandwidth-mb", "0", "--device-bandwidth-mb")]
    [InlineData("--device-bandwidth-mb", "4097", "--device-bandwidth-mb")]
    public async Task BadFlagsExitTwoNamingTheFlag(string flag, string value, string named)
    {
        using var folder = new TempFolder();
        var (code, _, error) = await RunAsync("bench", "--quick", flag, value, "--out", folder.Path);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Contains(named, error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "bench.json")));
    }

    [Fact]
    public async Task AnOutFolderThatIsAFileExitsTwoBeforeAnythingIsMeasured()
    {
        using var folder = new TempFolder();
        var file = Path.Combine(folder.Path, "not-a-folder");
        File.WriteAllText(file, "x");

        var (code, output, error) = await RunAsync("bench", "--quick", "--workloads", "governance_update", "--backends", "cpu", "--out", file);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal($"meta-gpu: --out: {file} is a file, not a folder", error.Trim());
        Assert.DoesNotContain("governance_update", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOutlierFilterFlagTimesTheEngineWithItsOutlierPassAndSkipsThePeers()
    {
        using var folder = new TempFolder();
        var (code, _, error) = await RunAsync(
            "bench", "--quick", "--n", "8", "--d", "64", "--repeats", "2", "--warmup", "0",
            "--workloads", "trimmed_mean", "--backends", "cpu,numpy", "--outlier-filter", "--out", folder.Path);
        Assert.True(code == 0, $"exit {code}: {error}");
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "bench.json")))!["results"]!.AsArray();
        var cpu = results.Single(r => r!["backend"]!.GetValue<string>() == "cpu")!;
        var numpy = results.Single(r => r!["backend"]!.GetValue<string>() == "numpy")!;
        Assert.Null(cpu["skipped"]);
        Assert.Contains("no outlier pass", numpy["skipped"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("outlier filter on", File.ReadAllText(Path.Combine(folder.Path, "bench.md")), StringComparison.Ordinal);

        // The round itself runs the pass: one medians-and-distances call per round with the flag, none without.
        var data = new BenchData(8, 64);
        foreach (var on in new[] { true, false })
        {
            using var counting = new Meta.Gpu.Tests.Compute.ScanCountingBackend(new Meta.Gpu.Compute.CpuBackend(), readOnce: true);
            var workload = new DenseWorkload(BenchWorkloads.TrimmedMean, counting, data, new BenchOptions { OutlierFilter = on });
            workload.Run();
            Assert.Equal(on ? 1 : 0, counting.OutlierPasses);
        }
    }

    [Fact]
    public async Task TheEqualWeightsFlagGivesEveryDomainConfidenceOneAndSaysSo()
    {
        using var folder = new TempFolder();
        var (code, _, error) = await RunAsync(
            "bench", "--quick", "--n", "8", "--d", "64", "--repeats", "2", "--warmup", "0",
            "--workloads", "weighted_median", "--backends", "cpu", "--equal-weights", "--out", folder.Path);
        Assert.True(code == 0, $"exit {code}: {error}");
        Assert.Contains("confidence weights all 1.0 (--equal-weights", File.ReadAllText(Path.Combine(folder.Path, "bench.md")), StringComparison.Ordinal);
        Assert.All(new BenchData(8, 64, equalWeights: true).Batch.Confidences, c => Assert.Equal(1.0, c));
        // The batch and the prior are the standard run's: only the confidences change.
        var standard = new BenchData(8, 64);
        var equal = new BenchData(8, 64, equalWeights: true);
        Assert.Equal(standard.Prior, equal.Prior);
        Assert.Equal(standard.Batch.Row(7).ToArray(), equal.Batch.Row(7).ToArray());
        Assert.Contains(standard.Batch.Confidences, c => c != 1.0);
    }

    [Fact]
    public void PeerOutputIsReadOrReportedAsSkipped()
    {
        var ok = PythonPeer.Parse("numpy", "numpy_peer.py",
            "noise\n{\"peer\":\"numpy\",\"version\":\"1.24\",\"results\":{\"median\":{\"times_ms\":[3,1,2]},\"weighted_median\":{\"skipped\":\"none\"}}}\n");
        Assert.Null(ok.Skipped);
        Assert.Equal("1.24", ok.Version);
        Assert.Equal([3.0, 1.0, 2.0], ok.Results["median"].TimesMs);
        Assert.Equal("none", ok.Results["weighted_median"].Skipped);

        var missing = PythonPeer.Parse("numpy", "numpy_peer.py", "{\"skipped\":\"numpy is not installed\",\"missing\":\"numpy\"}");
        Assert.Equal("numpy is not installed", missing.Skipped);
        Assert.Equal("numpy", missing.MissingModule);

        var garbage = PythonPeer.Parse("numpy", "numpy_peer.py", "Traceback (most recent call last)");
        Assert.StartsWith("numpy_peer.py printed no JSON", garbage.Skipped, StringComparison.Ordinal);
    }

    [Fact]
    public void MedianOfAnEvenCountIsTheMeanOfTheMiddleTwo()
    {
        Assert.Equal(new TimingSummary(2.5, 1, 9), TimingSummary.Of([9, 1, 2, 3]));
        Assert.Equal(new TimingSummary(2, 1, 9), TimingSummary.Of([9, 1, 2]));
    }
}
