using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Meta.Gpu.Cli;
using Meta.Gpu.Cli.Bench;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Bench;

/// <summary>`meta-gpu bench` at its edges: the progress counter, a peer's malformed output, a cancelled run's peer
/// process, and an --out folder that cannot be written; each failed before its fix.</summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class BenchEdgeTests
{
    private static Task<(int Code, string Out, string Error)> RunAsync(params string[] args) => CliRun.RunAsync("", args);

    [Fact]
    public async Task The_progress_counter_counts_every_row_and_never_passes_its_total()
    {
        using var folder = new TempFolder();
        var (code, output, error) = await RunAsync("bench", "--quick", "--n", "4", "--d", "64", "--repeats", "1", "--warmup", "0",
            "--workloads", "weighted_mean,weighted_median", "--backends", "cpu,numpy", "--out", folder.Path);
        Assert.True(code == 0, $"exit {code}: {error}");

        var rows = JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "bench.json")))!["results"]!.AsArray().Count;
        var lines = Regex.Matches(output, @"bench \[(\d+)/(\d+)\]").Select(m => (Done: int.Parse(m.Groups[1].Value), Total: int.Parse(m.Groups[2].Value))).ToList();
        Assert.Equal(rows, lines.Count);
        // The peer's "no such method" row (numpy weighted_median) is not in the plan the total is counted from:
        // "bench [4/3]" before.
        Assert.All(lines, l => Assert.True(l.Done <= l.Total, $"bench [{l.Done}/{l.Total}]\n{output}"));
        Assert.Equal(rows, lines[^1].Total);
    }

    [Theory]
    [InlineData("{\"version\":\"1\",\"results\":{\"median\":{\"times_ms\":[null]}}}")]
    [InlineData("{\"version\":\"1\",\"results\":{\"median\":{\"times_ms\":[\"1.5\"]}}}")]
    [InlineData("{\"version\":\"1\",\"results\":{\"median\":3}}")]
    [InlineData("{\"version\":\"1\",\"results\":{\"median\":{\"times_ms\":[1e400]}}}")]
    [InlineData("{\"version\":\"1\",\"results\":{\"median\":{\"times_ms\":[-2]}}}")]
    public void A_peers_json_of_the_wrong_shape_is_reported_as_skipped_not_thrown(string line)
    {
        // These threw InvalidOperationException out of the whole run (every row measured so far lost), or were taken
        // as figures (1e400 as infinity, -2 ms).
        var run = PythonPeer.Parse("numpy", "numpy_peer.py", line);
        var median = run.Skipped is null ? run.Results["median"] : null;
        Assert.True(run.Skipped is not null || median!.Skipped is not null, "neither the peer nor its median row is skipped");
    }

    [Fact]
    public async Task A_peer_printing_malformed_times_leaves_a_skipped_row_and_the_run_succeeds()
    {
        using var folder = new TempFolder();
        var python = FakePython.Write(folder, "echo '{\"version\":\"1\",\"results\":{\"weighted_mean\":{\"times_ms\":[null]}}}'");
        var outDir = Path.Combine(folder.Path, "out");
        var (code, _, error) = await RunAsync("bench", "--quick", "--n", "4", "--d", "64", "--repeats", "1", "--warmup", "0",
            "--workloads", "weighted_mean", "--backends", "cpu,numpy", "--python", python, "--out", outDir);
        Assert.True(code == 0, $"exit {code}: {error}");
        var numpy = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "bench.json")))!["results"]!.AsArray()
            .Single(r => r!["backend"]!.GetValue<string>() == "numpy")!;
        Assert.NotNull(numpy["skipped"]);
    }

    [Fact]
    public async Task A_python_that_does_not_exist_is_refused_before_the_run_naming_the_option()
    {
        using var folder = new TempFolder();
        var outDir = Path.Combine(folder.Path, "out");
        var missing = Path.Combine(folder.Path, "no-such-python");
        // Before: exit 0 after the whole run, the peer rows skipped with "could not start".
        var (code, _, error) = await RunAsync("bench", "--quick", "--n", "4", "--d", "64", "--repeats", "1", "--warmup", "0",
            "--workloads", "weighted_mean", "--backends", "cpu,numpy", "--python", missing, "--out", outDir);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Contains("--python", error);
        Assert.Contains(missing, error);
        Assert.False(File.Exists(Path.Combine(outDir, "bench.json")));

        (code, _, error) = await RunAsync("bench", "--quick", "--backends", "numpy", "--python", "no-such-python-on-path", "--out", outDir);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Contains("--python", error);
    }

    [Fact]
    public async Task A_cancelled_run_stops_its_peer_process()
    {
        using var folder = new TempFolder();
        var pidFile = Path.Combine(folder.Path, "pid");
        // The "peer" records its process id and then runs for a minute (numpy's sort at the standard size runs for
        // seconds per call, and the peer's timeout is five minutes).
        var python = FakePython.Write(folder, $"echo $$ > '{pidFile}'\nexec sleep 60");
        using var cancel = new CancellationTokenSource();
        var run = PythonPeer.RunAsync("numpy", "numpy_peer.py", folder.Path, 4, 64, ["weighted_mean"],
            new BenchOptions { Python = python }, [], cancel.Token);
        var clock = Stopwatch.StartNew();
        while (!File.Exists(pidFile) || File.ReadAllText(pidFile).Trim().Length == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the fake peer never started");
            await Task.Delay(50);
        }
        var pid = int.Parse(File.ReadAllText(pidFile).Trim());
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        // Ctrl-C / SIGTERM (TerminationSignals cancel this token) left the peer running, orphaned, for its whole
        // run.
        await Task.Delay(500);
        var alive = Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        if (alive)
        {
            using var orphan = Process.GetProcessById(pid);
            orphan.Kill();
        }
        Assert.False(alive, $"the peer process {pid} still runs after the run was cancelled");
    }

    [Fact]
    public async Task An_out_folder_that_cannot_be_written_is_refused_before_anything_is_measured()
    {
        // /proc exists and is a folder, but no file can be created in it (not even by root).
        var (code, output, error) = await RunAsync("bench", "--quick", "--workloads", "governance_update", "--backends", "cpu", "--out", "/proc");

        // Before: the whole run (minutes at the default sizes) was measured, then lost when bench.json failed,
        // with "meta-gpu: /proc/bench.json: no such file" (a read-only folder: "Access to the path ... is denied").
        Assert.DoesNotContain("governance_update", output, StringComparison.Ordinal);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Contains("--out", error, StringComparison.Ordinal);
    }

    private static bool Chattr(string flag, string path)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("chattr", [flag, path]) { RedirectStandardError = true, UseShellExecute = false })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    // The folder is writable but bench.json, left by an earlier run, cannot be written (immutable here; read-only and
    // owned by someone else in practice): the whole run was measured, then lost at the end with "Access to the path
    // '.../bench.json' is denied".
    [Fact]
    public async Task An_output_file_that_cannot_be_written_is_refused_before_anything_is_measured()
    {
        using var folder = new TempFolder();
        var json = Path.Combine(folder.Path, "bench.json");
        File.WriteAllText(json, "{}");
        if (!Chattr("+i", json)) Assert.Skip("chattr +i is not available here");
        try
        {
            var (code, output, error) = await CliRun.RunAsync("", "bench", "--quick", "--workloads", "governance_update", "--backends", "cpu", "--out", folder.Path);

            Assert.Equal(MetaGpuApp.ExitUserError, code);
            Assert.DoesNotContain("governance_update", output, StringComparison.Ordinal);
            Assert.Contains("--out", error, StringComparison.Ordinal);
        }
        finally
        {
            Chattr("-i", json);
        }
    }

    [Fact]
    public async Task An_output_name_taken_by_a_folder_is_refused_before_anything_is_measured()
    {
        using var folder = new TempFolder();
        var taken = Directory.CreateDirectory(Path.Combine(folder.Path, "bench.md")).FullName;

        var (code, output, error) = await RunAsync("bench", "--quick", "--workloads", "governance_update", "--backends", "cpu", "--out", folder.Path);

        // Otherwise the whole run is measured and then lost when bench.md cannot replace the folder.
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.DoesNotContain("governance_update", output, StringComparison.Ordinal);
        Assert.Equal($"meta-gpu: --out: {taken} is a folder, where the output file bench.md goes", error.Trim());
        Assert.False(File.Exists(Path.Combine(folder.Path, "bench.json")));
    }

    [Fact]
    public async Task The_repeats_and_warmup_defaults_the_help_states_are_the_ones_used()
    {
        var help = await RunAsync("bench", "--help");
        Assert.Equal(0, help.Code);
        var text = string.Join(" ", help.Out.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"Timed calls per row (default {new BenchOptions().Repeats}; --quick {BenchOptions.QuickDefaults.Repeats}).", text, StringComparison.Ordinal);
        Assert.Contains($"Untimed calls before them (default {new BenchOptions().Warmup};", text, StringComparison.Ordinal);
        Assert.Equal((5, 3, 1), (new BenchOptions().Repeats, BenchOptions.QuickDefaults.Repeats, new BenchOptions().Warmup));

        // A --quick run without --repeats times each row the quick default's number of times.
        using var folder = new TempFolder();
        var (code, _, error) = await RunAsync("bench", "--quick", "--n", "4", "--d", "64", "--warmup", "0",
            "--workloads", "weighted_mean", "--backends", "cpu", "--out", folder.Path);
        Assert.True(code == 0, $"exit {code}: {error}");
        var row = Assert.Single(JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "bench.json")))!["results"]!.AsArray())!;
        Assert.Equal(3, row["repeats"]!.GetValue<int>());
    }
}
