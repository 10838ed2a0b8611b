using System.Diagnostics;
using System.Text.Json.Nodes;
using Meta.Gpu.Cli;

namespace Meta.Gpu.Nats.Tests;

/// <summary>`meta-gpu serve --bus`: the aggregator as its own process against a real broker.</summary>
public sealed class ServeCommandTests
{
    [Fact]
    public async Task An_unreachable_broker_is_exit_2_with_one_line_naming_it()
    {
        var port = NatsServer.FreePort();
        var output = new StringWriter();
        var error = new StringWriter();
        var clock = Stopwatch.StartNew();
        var code = await MetaGpuApp.RunAsync(["serve", "--bus", $"nats://127.0.0.1:{port}", "--connect-timeout", "1"], new CliConsole(TextReader.Null, output, error));
        Assert.Equal(2, code);
        Assert.Contains($"nats://127.0.0.1:{port}", error.ToString());
        Assert.Contains("not reachable", error.ToString());
        Assert.Single(error.ToString().Trim().Split('\n'));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task An_unknown_dense_backend_is_exit_2_naming_it_before_the_broker_is_dialled()
    {
        var port = NatsServer.FreePort();
        var error = new StringWriter();
        var code = await MetaGpuApp.RunAsync(["serve", "--bus", $"nats://127.0.0.1:{port}", "--backend", "tpu"], new CliConsole(TextReader.Null, new StringWriter(), error));
        Assert.Equal(2, code);
        Assert.Contains("\"tpu\"", error.ToString());
        Assert.DoesNotContain("not reachable", error.ToString());
    }

    [Theory]
    [InlineData("global_prior.json", "{\"format\":\"meta-gpu.global_prior\",\"version\":1,\"sha256\":\"00\",\"prior\":{}}")]
    [InlineData("dense_prior.mgpu", "MGPU garbage")]
    public async Task A_storage_folder_whose_saved_prior_is_unusable_is_exit_2_with_one_line_naming_the_file(string file, string content)
    {
        await using var server = await NatsServer.StartAsync();
        var storage = Directory.CreateTempSubdirectory("meta-gpu-serve-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(storage, file), content);
            var error = new StringWriter();
            var code = await MetaGpuApp.RunAsync(["serve", "--bus", server.Url, "--prefix", "r" + Guid.NewGuid().ToString("N")[..8], "--storage", storage, "--backend", "cpu"],
                new CliConsole(TextReader.Null, new StringWriter(), error));
            Assert.Equal(2, code);
            Assert.Contains(file, error.ToString());
            Assert.Contains("no usable copy", error.ToString());
            Assert.Single(error.ToString().Trim().Split('\n'));
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }

    [Fact]
    public async Task A_prefix_whose_stream_another_prefix_holds_is_exit_2_naming_it_rather_than_an_idle_service()
    {
        // The agent's subscription failed to open, the bus only logged it, and serve said "serving on" and sat
        // idle for good: no pack of its prefix could ever reach it.
        await using var server = await NatsServer.StartAsync();
        var storage = Directory.CreateTempSubdirectory("meta-gpu-serve-").FullName;
        var id = Guid.NewGuid().ToString("N")[..8];
        try
        {
            await using (var other = await Buses.ConnectAsync(Buses.Options(server, $"run-{id}")))
                await other.PublishAsync("federation.policy_pack", new JsonObject { ["domain_id"] = "d", ["sequence"] = 1 });
            var output = new StringWriter();
            var error = new StringWriter();
            var code = await MetaGpuApp.RunAsync(["serve", "--bus", server.Url, "--prefix", $"run_{id}", "--storage", storage, "--backend", "cpu"],
                new CliConsole(TextReader.Null, output, error)).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(2, code);
            Assert.Contains($"prefix 'run_{id}'", error.ToString(), StringComparison.Ordinal);
            Assert.Contains("belongs to another prefix", error.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("serving on", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }

    [Fact]
    public async Task A_prefix_another_aggregators_consumer_reads_is_exit_2_with_one_line_naming_it()
    {
        // After the bus demo on the default prefix (whose consumer stayed on the broker), serve printed the broker's
        // "filtered consumer not unique on workqueue stream" three times: a log line, a drain warning and the error,
        // then a warning that the drain timed out after 5 s.
        await using var server = await NatsServer.StartAsync();
        var storage = Directory.CreateTempSubdirectory("meta-gpu-serve-").FullName;
        var prefix = "c" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            await using var demo = await Buses.ConnectAsync(Buses.Options(server, prefix) with { DurableName = "meta_gpu_sine_demo" });
            using var reading = demo.Subscribe("federation.dense_update", (_, _) => ValueTask.CompletedTask);
            await demo.WhenSubscribedAsync();

            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "meta-gpu.dll"), "serve", "--bus", server.Url, "--prefix", prefix, "--storage", storage, "--backend", "cpu" })
                info.ArgumentList.Add(a);
            using var serve = Process.Start(info)!;
            var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
            serve.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
            serve.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue("err: " + e.Data); };
            serve.BeginOutputReadLine();
            serve.BeginErrorReadLine();
            try
            {
                await serve.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
                serve.WaitForExit(); // flushes the redirected output
            }
            finally
            {
                if (!serve.HasExited) serve.Kill(entireProcessTree: true);
            }
            Assert.True(serve.ExitCode == 2, $"exit {serve.ExitCode}: {string.Join(" | ", lines)}");
            var line = Assert.Single(lines);
            Assert.StartsWith($"err: meta-gpu: prefix '{prefix}': federation.dense_update is already read by another aggregator's durable consumer 'meta_gpu_sine_demo'", line, StringComparison.Ordinal);
            Assert.Contains("--prefix", line, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }

    [Fact]
    public async Task Serve_aggregates_domain_packs_from_the_broker_and_ctrl_c_exits_0()
    {
        await using var server = await NatsServer.StartAsync();
        var storage = Directory.CreateTempSubdirectory("meta-gpu-serve-").FullName;
        var prefix = "s" + Guid.NewGuid().ToString("N")[..8];
        var cli = Path.Combine(AppContext.BaseDirectory, "meta-gpu.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { cli, "serve", "--bus", server.Url, "--prefix", prefix, "--storage", storage, "--ack-wait", "2" }) info.ArgumentList.Add(a);
        using var serve = Process.Start(info)!;
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var serving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        serve.OutputDataReceived += (_, e) => { if (e.Data is null) return; lines.Enqueue(e.Data); if (e.Data.StartsWith("serving on", StringComparison.Ordinal)) serving.TrySetResult(); };
        serve.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue("err: " + e.Data); };
        serve.BeginOutputReadLine();
        serve.BeginErrorReadLine();
        try
        {
            await serving.Task.WaitAsync(TimeSpan.FromSeconds(30));

            await using var domain = await Buses.ConnectAsync(Buses.Options(server, prefix));
            var priorUpdate = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var _ = domain.Subscribe("meta_prior_update", (e, _) =>
            {
                priorUpdate.TrySetResult(Meta.Gpu.Serialization.BusPayload.AsObject(e.Payload, e.Topic));
                return ValueTask.CompletedTask;
            });
            var metrics = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var __ = domain.Subscribe("meta_metrics", (e, _) =>
            {
                metrics.TrySetResult(Meta.Gpu.Serialization.BusPayload.AsObject(e.Payload, e.Topic));
                return ValueTask.CompletedTask;
            });
            await domain.WaitForIdleAsync();
            var domains = new[] { "energy", "finance", "health" };
            for (var window = 1; window <= 200 && !priorUpdate.Task.IsCompleted; window++)
            {
                foreach (var (name, i) in domains.Select((d, i) => (d, i)))
                    await domain.PublishAsync("federation.policy_pack", new JsonObject
                    {
                        ["domain_id"] = name,
                        ["sequence"] = window,
                        ["metrics"] = new JsonObject { ["gain_p50"] = 0.5 + 0.05 * i, ["stability_avg"] = 0.8 },
                        ["controller"] = new JsonObject { ["tau"] = 0.9 + 0.01 * i, ["gamma_diversity"] = 0.3 },
                        ["evaluator"] = new JsonObject { ["g_min"] = 0.02, ["lambda_ci"] = 0.5 },
                    });
                await domain.PublishAsync("processing_metrics", new JsonObject
                {
                    ["gain_p50"] = 0.55, ["stability_avg"] = 0.8, ["latency_ms"] = 50.0,
                    ["vram_high"] = 0.0, ["bandwidth_free"] = 1.0, ["bandwidth_low"] = 0.0,
                });
                await Task.Delay(50);
            }
            var update = await priorUpdate.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.NotNull(update["controller"]?["tau"]);
            // Nobody published telemetry: governance read the memory of the machine the dense lane runs on (cpu).
            var vram = (await metrics.Task.WaitAsync(TimeSpan.FromSeconds(30)))["vram_util"]!.GetValue<double>();
            Assert.InRange(vram, 1e-6, 1.0);

            // A process started in the background by a non-interactive shell ignores SIGINT, and its children inherit
            // that: there Ctrl-C cannot reach the service, and SIGTERM (the same stop path) is sent instead.
            var signal = SigIntIgnored() ? "-TERM" : "-INT";
            using (var kill = Process.Start("kill", [signal, serve.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await kill!.WaitForExitAsync();
            var exited = serve.WaitForExitAsync();
            if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(30))) != exited)
                Assert.Fail($"serve did not stop within 30 s of kill {signal}: {string.Join(" | ", lines)}");
            Assert.True(serve.ExitCode == 0, $"exit {serve.ExitCode}: {string.Join(" | ", lines)}");
            Assert.Contains(lines, l => l.StartsWith("stopped:", StringComparison.Ordinal));
            Assert.True(File.Exists(Path.Combine(storage, "global_prior.json")), "the prior is saved under --storage");
        }
        finally
        {
            if (!serve.HasExited) serve.Kill(entireProcessTree: true);
            Directory.Delete(storage, recursive: true);
        }
    }

    /// <summary>Whether this process ignores SIGINT (bit 2 of /proc/self/status SigIgn), as the serve process then
    /// does too.</summary>
    private static bool SigIntIgnored()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 0x2) != 0;
    }
}
