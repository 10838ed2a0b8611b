using System.Diagnostics;
using System.Globalization;
using Meta.Gpu.Nats.Tests;
using Meta.Gpu.Storage;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>
/// Process lifecycle of `meta-gpu demo --bus`: a stopped aggregator takes its worker processes with it, and a round
/// never waits longer than <c>--round-timeout</c>, even while the broker is away.
/// </summary>
public sealed class DemoLifecycleTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly string _dir = Directory.CreateTempSubdirectory("meta-gpu-demo-life-").FullName;
    private readonly string _prefix = "l" + Guid.NewGuid().ToString("N")[..8];

    private string Storage => Path.Combine(_dir, "storage");

    [Fact]
    public Task Sigterm_to_the_aggregator_ends_the_worker_processes_it_started() =>
        // What `timeout`, a CI runner or `kill` sends: the aggregator only, not its process group.
        AssertWorkersEndWithTheAggregatorAsync("-TERM", TimeSpan.FromSeconds(15));

    [Fact]
    public Task Workers_of_an_aggregator_killed_with_signal_9_stop_by_themselves() =>
        // Nothing runs in a process killed with -9: the workers, waiting for the next prior, ran on for good beside
        // those of the rerun that resumes (README: "kill it and run it again").
        AssertWorkersEndWithTheAggregatorAsync("-KILL", TimeSpan.FromSeconds(20));

    /// <summary>Runs the bus demo with two workers until a round is saved, sends the aggregator
    /// <paramref name="signal"/>, and asserts that no worker outlives it by <paramref name="grace"/>.</summary>
    private async Task AssertWorkersEndWithTheAggregatorAsync(string signal, TimeSpan grace)
    {
        await using var server = await NatsServer.StartAsync();
        await using var demo = CliProcess.Start("demo", "--bus", server.Url, "--prefix", _prefix, "--workers", "2",
            "--meta-rounds", "100000", "--held-out", "2", "--out", _dir, "--storage", Storage);
        try
        {
            // Running: the workers answer rounds and the aggregator saves them.
            var clock = Stopwatch.StartNew();
            while (!(new MetaStorageManager(new StorageConfig(Storage)).LoadDensePrior() is { Round: >= 1 }))
            {
                if (demo.HasExited || clock.Elapsed > Limit) Assert.Fail($"no round saved: {demo.Output}");
                await Task.Delay(200);
            }
            Assert.Equal(2, WorkerPids(_prefix).Count);

            using (var kill = Process.Start("kill", [signal, demo.Id.ToString(CultureInfo.InvariantCulture)]))
                await kill!.WaitForExitAsync();
            await demo.WaitAsync(Limit);

            clock.Restart();
            while (WorkerPids(_prefix).Count > 0 && clock.Elapsed < grace) await Task.Delay(200);
            var left = WorkerPids(_prefix);
            Assert.True(left.Count == 0,
                $"{left.Count} 'meta-gpu domain' worker processes outlived the aggregator (kill {signal}, exit {demo.ExitCode}) by {grace.TotalSeconds} s: {string.Join(", ", left)}");
        }
        finally
        {
            foreach (var pid in WorkerPids(_prefix))
            {
                try
                {
                    Process.GetProcessById(pid).Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    // Gone meanwhile.
                }
            }
        }
    }

    [Fact]
    public async Task Sigterm_stops_the_in_process_demo_with_exit_143_and_a_line_saying_so()
    {
        // The signal killed the process on the spot (no handler was installed): no line, and exit by signal.
        await using var demo = CliProcess.Start("demo", "--meta-rounds", "100000", "--domains", "2", "--held-out", "2", "--out", _dir);
        await demo.WaitForLineAsync(l => l.StartsWith("sine regression", StringComparison.Ordinal), Limit);
        using (var kill = Process.Start("kill", ["-TERM", demo.Id.ToString(CultureInfo.InvariantCulture)]))
            await kill!.WaitForExitAsync();
        var code = await demo.WaitAsync(Limit);
        Assert.True(code == 143, $"exit {code}: {demo.Output}");
        Assert.Contains(demo.Lines, l => l.Contains("stopped by SIGTERM", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_round_stops_at_the_round_timeout_while_the_broker_is_away()
    {
        await using var server = await NatsServer.StartAsync();
        // domain-000 never comes: without a broker outage this run stops with exit 2 after 3 s
        // (DemoOverBusTests.A_missing_domain_stops_the_round_with_an_error_naming_it).
        await using var demo = CliProcess.Start("demo", "--bus", server.Url, "--prefix", _prefix, "--domains", "1", "--meta-rounds", "2",
            "--held-out", "2", "--out", _dir, "--storage", Storage, "--round-timeout", "3");
        await demo.WaitForLineAsync(l => l.StartsWith("sine regression", StringComparison.Ordinal), Limit);
        await Task.Delay(TimeSpan.FromSeconds(1));
        await server.StopAsync();

        var code = await demo.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, code);
        Assert.Contains(demo.Lines, l => l.StartsWith("err: meta-gpu:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_broker_out_of_reach_leaves_no_out_or_storage_folder_the_run_made_and_keeps_those_that_were_there()
    {
        // Made for the run (with a parent each): an exit 2 left them behind, empty but for the storage's lock file.
        var outDir = Path.Combine(_dir, "new-out", "run");
        var storage = Path.Combine(_dir, "new-storage", "store");
        await using (var demo = CliProcess.Start(new Dictionary<string, string>(),
            "demo", "--bus", "nats://127.0.0.1:1", "--connect-timeout", "0.5", "--meta-rounds", "1", "--held-out", "2", "--out", outDir, "--storage", storage))
        {
            var code = await demo.WaitAsync(Limit);
            Assert.True(code == 2, $"exit {code}: {demo.Output}");
        }
        Assert.False(Directory.Exists(Path.Combine(_dir, "new-out")), "the --out folder made for the run was left behind");
        Assert.False(Directory.Exists(Path.Combine(_dir, "new-storage")), "the --storage folder made for the run was left behind");

        // Folders that were there before stay, with what they hold.
        var keptOut = Directory.CreateDirectory(Path.Combine(_dir, "kept-out")).FullName;
        var keptStorage = Directory.CreateDirectory(Path.Combine(_dir, "kept-storage")).FullName;
        File.WriteAllText(Path.Combine(keptOut, "mine.txt"), "out");
        await using (var demo = CliProcess.Start(new Dictionary<string, string>(),
            "demo", "--bus", "nats://127.0.0.1:1", "--connect-timeout", "0.5", "--meta-rounds", "1", "--held-out", "2", "--out", keptOut, "--storage", keptStorage))
        {
            var code = await demo.WaitAsync(Limit);
            Assert.True(code == 2, $"exit {code}: {demo.Output}");
        }
        Assert.Equal("out", File.ReadAllText(Path.Combine(keptOut, "mine.txt")));
        Assert.True(Directory.Exists(keptStorage));
    }

    [Fact]
    public async Task A_broker_out_of_reach_leaves_no_temporary_storage_folder_behind()
    {
        // Without --storage the run saves into a new temporary folder, named only once the broker answers: one
        // created for a run that never connected was left in the temp folder, unnamed, by every such attempt.
        var temp = Directory.CreateDirectory(Path.Combine(_dir, "tmp")).FullName;
        await using var demo = CliProcess.Start(new Dictionary<string, string> { ["TMPDIR"] = temp },
            "demo", "--bus", "nats://127.0.0.1:1", "--connect-timeout", "0.5", "--meta-rounds", "1", "--held-out", "2", "--out", _dir);
        var code = await demo.WaitAsync(Limit);
        Assert.True(code == 2, $"exit {code}: {demo.Output}");
        Assert.Contains(demo.Lines, l => l.Contains("not reachable", StringComparison.Ordinal));
        Assert.Empty(Directory.GetFileSystemEntries(temp, "meta-gpu-demo-*"));
    }

    [Fact]
    public async Task An_interrupted_quiet_run_without_storage_names_the_folder_it_kept()
    {
        // Without --storage the rounds go to a new temporary folder, named in the first line; --quiet prints no such
        // line, so an interrupted run left a folder nobody could name to resume from.
        await using var server = await NatsServer.StartAsync();
        var temp = Directory.CreateDirectory(Path.Combine(_dir, "tmp")).FullName;
        await using var demo = CliProcess.Start(new Dictionary<string, string> { ["TMPDIR"] = temp },
            "demo", "--bus", server.Url, "--prefix", _prefix, "--workers", "2", "--meta-rounds", "100000", "--held-out", "2",
            "--out", _dir, "--quiet");
        var clock = Stopwatch.StartNew();
        string? kept = null;
        while (kept is null || !(new MetaStorageManager(new StorageConfig(kept)).LoadDensePrior() is { Round: >= 1 }))
        {
            if (demo.HasExited || clock.Elapsed > Limit) Assert.Fail($"no round saved: {demo.Output}");
            await Task.Delay(200);
            kept ??= Directory.GetDirectories(temp, "meta-gpu-demo-*").SingleOrDefault();
        }

        using (var kill = Process.Start("kill", ["-TERM", demo.Id.ToString(CultureInfo.InvariantCulture)]))
            await kill!.WaitForExitAsync();
        var code = await demo.WaitAsync(Limit);
        Assert.True(code == 143, $"exit {code}: {demo.Output}");
        Assert.True(Directory.Exists(kept), "the interrupted run's folder was removed");
        Assert.Contains(demo.Lines, l => l.StartsWith("err: ", StringComparison.Ordinal) && l.Contains($"--storage {kept}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failed_quiet_run_without_storage_names_the_folder_it_kept()
    {
        // A run that fails (here: domain-000 never answers within --round-timeout) keeps its temporary folder and its
        // durable consumer so that a rerun resumes; with --quiet no first line named the folder, and the error line
        // did not either, so it was left in the temp folder where nobody could find it.
        await using var server = await NatsServer.StartAsync();
        var temp = Directory.CreateDirectory(Path.Combine(_dir, "tmp")).FullName;
        await using var demo = CliProcess.Start(new Dictionary<string, string> { ["TMPDIR"] = temp },
            "demo", "--bus", server.Url, "--prefix", _prefix, "--domains", "1", "--meta-rounds", "2", "--held-out", "2",
            "--round-timeout", "2", "--out", _dir, "--quiet");
        var code = await demo.WaitAsync(Limit);
        Assert.True(code == 2, $"exit {code}: {demo.Output}");
        var kept = Assert.Single(Directory.GetDirectories(temp, "meta-gpu-demo-*"));
        Assert.Contains(demo.Lines, l => l.StartsWith("err: ", StringComparison.Ordinal) && l.Contains($"--storage {kept}", StringComparison.Ordinal));
        Assert.Contains(demo.Lines, l => l.StartsWith("err: meta-gpu:", StringComparison.Ordinal) && l.Contains("no update from domain-000", StringComparison.Ordinal));
    }

    /// <summary>Process ids of `meta-gpu domain` processes whose command line carries <paramref name="prefix"/>.</summary>
    private static List<int> WorkerPids(string prefix)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string[] args;
            try
            {
                args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (args.Contains("domain") && args.Contains(prefix)) pids.Add(pid);
        }
        return pids;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
