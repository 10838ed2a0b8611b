using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Meta.Gpu.Nats;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Benchmarks;

/// <summary>
/// Throughput of the bus in process and over NATS on loopback, in one run (issue "beyond one machine", item 6):
/// in-process deliveries/s; telemetry (core NATS) messages/s; durable policy packs taken in and acknowledged/s
/// with 4 publishers; dense updates through the object store, MB/s each way. Starts its own
/// `nats-server -js` on a free port unless --url is given.
/// Usage: dotnet run -c Release --project benchmarks/Meta.Gpu.Nats.Benchmarks [-- --url nats://HOST:PORT] [--quick]
/// [--only inprocess,telemetry,durable,dense]
/// </summary>
/// <remarks>Every rate counts what the subscriber actually took in (telemetry: delivered to the handler; durable:
/// handled and acknowledged, every publisher's sequence checked to arrive once and in order) over the wall time
/// from the first publish. Beside each rate: the CPU time per message of this process (publishers and
/// subscriber) and of the broker it started, which stays comparable when other work loads the machine. Each
/// scenario runs twice; the figure is the second (warm) run, the cold first run is printed below it (JIT tiering
/// of the client's long-running loops takes a few hundred thousand messages; serve and domain processes run for
/// hours).</remarks>
internal static class Program
{
    private static readonly string[] Scenarios = ["inprocess", "telemetry", "durable", "dense"];

    private static async Task<int> Main(string[] args)
    {
        var quick = args.Contains("--quick");
        var onlyIndex = Array.IndexOf(args, "--only");
        var only = onlyIndex >= 0 && onlyIndex + 1 < args.Length ? args[onlyIndex + 1].Split(',', StringSplitOptions.TrimEntries) : null;
        // A misspelt name ran nothing and still exited 0, so a script's measurement silently went missing.
        if (onlyIndex >= 0)
        {
            var unknown = only?.FirstOrDefault(name => !Scenarios.Contains(name));
            if (only is null || unknown is not null)
            {
                await Console.Error.WriteLineAsync(only is null
                    ? $"--only needs a comma list of scenarios: {string.Join(",", Scenarios)}"
                    : $"--only: unknown scenario '{unknown}' (known: {string.Join(",", Scenarios)})").ConfigureAwait(false);
                return 2;
            }
        }
        bool Runs(string name) => only is null || only.Contains(name);
        var urlIndex = Array.IndexOf(args, "--url");
        string url;
        Process? server = null;
        string? store = null;
        if (urlIndex >= 0 && urlIndex + 1 < args.Length)
        {
            url = args[urlIndex + 1];
        }
        else
        {
            (server, url, store) = await StartServerAsync().ConfigureAwait(false);
        }
        try
        {
            Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; broker {url}");
            var scale = quick ? 10 : 1;
            Console.WriteLine($"load average: {LoadAverage()}");
            s_server = server;
            // Each scenario runs twice: the first run's rate is printed as "cold" (the JIT still tiering up the
            // client's long-running loops, which takes a few hundred thousand messages); the figure is the second,
            // warm run, that of a long-running serve or domain worker.
            if (Runs("inprocess"))
                await Twice("in-process bus deliveries", 400_000 / scale, () => InProcessAsync(400_000 / scale), "msg/s", null).ConfigureAwait(false);
            if (Runs("telemetry"))
                await Twice("telemetry over NATS (core)", 400_000 / scale, () => TelemetryAsync(url, 400_000 / scale), "msg/s", 200_000).ConfigureAwait(false);
            if (Runs("durable"))
                await Twice("durable policy packs, 4 publishers", 4 * 20_000 / scale, () => DurablePacksAsync(url, 4, 20_000 / scale), "acked/s", 20_000).ConfigureAwait(false);
            if (Runs("dense"))
            {
                var (put, get) = await DenseAsync(url, quick ? 1 : 3, 16 * 1024 * 1024).ConfigureAwait(false);
                Report("dense 64 MB via object store, publish", (put, null), "MB/s", 200);
                Report("dense 64 MB via object store, receive", (get, null), "MB/s", 200);
            }
            Console.WriteLine($"load average: {LoadAverage()}");
            return 0;
        }
        finally
        {
            if (server is not null)
            {
                server.Kill();
                await server.WaitForExitAsync().ConfigureAwait(false);
                server.Dispose();
            }
            if (store is not null) Directory.Delete(store, recursive: true);
        }
    }

    private static Process? s_server;

    private static void Report(string what, (double Value, string? Cpu) result, string unit, double? target) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what,-42} {result.Value,12:N0} {unit,-8}{(target is { } t ? $" (target >= {t:N0}: {(result.Value >= t ? "met" : "NOT met")})" : ""),-32}{result.Cpu}"));

    private static async Task Twice(string what, int messages, Func<Task<double>> run, string unit, double? target)
    {
        var (cold, cpu) = await Measured(messages, run).ConfigureAwait(false);
        Report(what, await Measured(messages, run).ConfigureAwait(false), unit, target);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  (cold first run: {cold:N0} {unit}, {cpu})"));
    }

    /// <summary>Runs one measurement and adds the CPU time per message it cost this process and the broker.</summary>
    private static async Task<(double, string?)> Measured(int messages, Func<Task<double>> run)
    {
        var self = Process.GetCurrentProcess();
        self.Refresh();
        var before = self.TotalProcessorTime;
        var brokerBefore = BrokerCpu();
        var rate = await run().ConfigureAwait(false);
        self.Refresh();
        var client = (self.TotalProcessorTime - before).TotalMicroseconds / messages;
        var broker = BrokerCpu() is { } after && brokerBefore is { } b ? (after - b).TotalMicroseconds / messages : (double?)null;
        return (rate, string.Create(CultureInfo.InvariantCulture,
            $"CPU/msg: process {client:0.0} us{(broker is { } x ? $", broker {x:0.0} us" : "")}"));
    }

    private static TimeSpan? BrokerCpu()
    {
        if (s_server is null) return null;
        s_server.Refresh();
        return s_server.TotalProcessorTime;
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static async Task<double> InProcessAsync(int count)
    {
        await using var bus = new EventBus(new EventBusOptions(QueueCapacity: 4096));
        var received = 0;
        using var _ = bus.Subscribe("telemetry", (_, _) => { received++; return ValueTask.CompletedTask; });
        var payload = TelemetryPayload();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++) await bus.PublishAsync("telemetry", payload).ConfigureAwait(false);
        await bus.WaitForIdleAsync().ConfigureAwait(false);
        return received / clock.Elapsed.TotalSeconds;
    }

    private static JsonObject TelemetryPayload() => new()
    {
        ["meta_reward"] = 0.42, ["meta_gain"] = 0.01, ["meta_latency_ms"] = 12.5, ["timestamp"] = 1764100000.0,
    };

    private static NatsBusOptions Options(string url, string prefix) => new()
    {
        Url = url,
        SubjectPrefix = prefix,
        QueueCapacity = 8192,
        PendingCapacity = 1 << 20,
        ConsumeBatch = 1024,
    };

    private static async Task<double> TelemetryAsync(string url, int count)
    {
        var options = Options(url, "bench_t" + Guid.NewGuid().ToString("N")[..6]);
        await using var subscriber = await NatsEventBus.ConnectAsync(options).ConfigureAwait(false);
        await using var publisher = await NatsEventBus.ConnectAsync(options).ConfigureAwait(false);
        var received = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = subscriber.Subscribe("telemetry", (_, _) =>
        {
            if (Interlocked.Increment(ref received) == count) all.TrySetResult();
            return ValueTask.CompletedTask;
        });
        await subscriber.WaitForIdleAsync().ConfigureAwait(false);
        var payload = TelemetryPayload();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++) await publisher.PublishAsync("telemetry", payload).ConfigureAwait(false);
        await publisher.WaitForIdleAsync().ConfigureAwait(false);
        await Task.WhenAny(all.Task, Task.Delay(TimeSpan.FromSeconds(60))).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        if (subscriber.NatsStats.Dropped > 0) Console.WriteLine($"  telemetry: {subscriber.NatsStats.Dropped} dropped by the client buffer (counted)");
        return Volatile.Read(ref received) / seconds;
    }

    private static async Task<double> DurablePacksAsync(string url, int publishers, int perPublisher)
    {
        var options = Options(url, "bench_p" + Guid.NewGuid().ToString("N")[..6]);
        await using var aggregator = await NatsEventBus.ConnectAsync(options).ConfigureAwait(false);
        var total = publishers * perPublisher;
        var received = 0;
        var disorder = 0;
        var last = new long[publishers];
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = aggregator.Subscribe("federation.policy_pack", (e, _) =>
        {
            // One handler, called in order: each publisher's sequence must come once and in order.
            var pack = BusPayload.AsObject(e.Payload, e.Topic);
            var domain = pack["domain_id"]!.GetValue<string>();
            var p = int.Parse(domain.AsSpan("domain-".Length), CultureInfo.InvariantCulture);
            var sequence = pack["sequence"]!.GetValue<long>();
            if (sequence != last[p] + 1) disorder++;
            last[p] = sequence;
            if (Interlocked.Increment(ref received) == total) all.TrySetResult();
            return ValueTask.CompletedTask;
        });
        await aggregator.WaitForIdleAsync().ConfigureAwait(false);
        var buses = new List<NatsEventBus>();
        for (var p = 0; p < publishers; p++) buses.Add(await NatsEventBus.ConnectAsync(options).ConfigureAwait(false));
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(buses.Select((bus, p) => Task.Run(async () =>
        {
            for (var s = 1; s <= perPublisher; s++)
                await bus.PublishAsync("federation.policy_pack", new JsonObject
                {
                    ["domain_id"] = $"domain-{p}",
                    ["sequence"] = s,
                    ["metrics"] = new JsonObject { ["gain_p50"] = 0.01, ["meta_score"] = 0.5 },
                    ["controller"] = new JsonObject { ["tau"] = 1.0, ["gamma_diversity"] = 0.1 },
                    ["evaluator"] = new JsonObject { ["g_min"] = 0.01, ["lambda_ci"] = 0.5 },
                }).ConfigureAwait(false);
        }))).ConfigureAwait(false);
        await all.Task.WaitAsync(TimeSpan.FromSeconds(120)).ConfigureAwait(false);
        await aggregator.WaitForIdleAsync().ConfigureAwait(false); // every pack acknowledged
        var seconds = clock.Elapsed.TotalSeconds;
        foreach (var bus in buses) await bus.DisposeAsync().ConfigureAwait(false);
        if (disorder > 0 || Volatile.Read(ref received) != total || aggregator.NatsStats.Acknowledged != total)
            throw new InvalidOperationException($"durable packs: {received} received of {total}, {aggregator.NatsStats.Acknowledged} acknowledged, {disorder} out of order or repeated");
        return total / seconds;
    }

    private static async Task<(double PutMbps, double GetMbps)> DenseAsync(string url, int repeats, int d)
    {
        var options = Options(url, "bench_d" + Guid.NewGuid().ToString("N")[..6]);
        await using var domain = await NatsEventBus.ConnectAsync(options).ConfigureAwait(false);
        await using var aggregator = await NatsEventBus.ConnectAsync(options).ConfigureAwait(false);
        var vector = new float[d];
        var random = new Random(7);
        for (var i = 0; i < d; i++) vector[i] = (float)random.NextDouble();
        var megabytes = d * 4.0 / (1024 * 1024);
        TaskCompletionSource<float[]> got = new(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = aggregator.Subscribe("federation.dense_update", (e, _) =>
        {
            var node = BusPayload.AsObject(e.Payload, e.Topic)["vector"] as JsonValue;
            got.TrySetResult(node!.GetValue<float[]>());
            return ValueTask.CompletedTask;
        });
        await aggregator.WaitForIdleAsync().ConfigureAwait(false);
        // Warm-up (object store bucket creation, JIT), not measured.
        await domain.PublishAsync("federation.dense_update", new JsonObject { ["domain_id"] = "w", ["sequence"] = 0, ["vector"] = JsonValue.Create(vector) }).ConfigureAwait(false);
        await got.Task.ConfigureAwait(false);
        double put = 0, get = 0;
        for (var r = 1; r <= repeats; r++)
        {
            got = new(TaskCreationOptions.RunContinuationsAsynchronously);
            // The consumer pauses while the publisher uploads, so the two directions are timed apart.
            var clock = Stopwatch.StartNew();
            await domain.PublishAsync("federation.dense_update", new JsonObject { ["domain_id"] = "d", ["sequence"] = r, ["vector"] = JsonValue.Create(vector) }).ConfigureAwait(false);
            put += clock.Elapsed.TotalSeconds;
            clock.Restart();
            var back = await got.Task.WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            get += clock.Elapsed.TotalSeconds;
            if (back.Length != d || back[d - 1] != vector[d - 1]) throw new InvalidOperationException("dense vector changed in transit");
        }
        return (megabytes * repeats / put, megabytes * repeats / get);
    }

    private static async Task<(Process, string, string)> StartServerAsync()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        var store = Directory.CreateTempSubdirectory("meta-gpu-bench-").FullName;
        var info = new ProcessStartInfo("nats-server") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-js", "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-sd", store }) info.ArgumentList.Add(a);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) => { if (e.Data?.Contains("Server is ready", StringComparison.Ordinal) == true) ready.TrySetResult(); };
        process.OutputDataReceived += (_, _) => { };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return (process, $"nats://127.0.0.1:{port}", store);
    }
}
