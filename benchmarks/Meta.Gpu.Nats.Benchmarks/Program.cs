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
/// Usage: see <see cref="Usage"/> (<c>--help</c>).
/// </summary>
/// <remarks>Every rate counts what the subscriber actually took in (telemetry: delivered to the handler; durable:
/// handled and acknowledged, every publisher's sequence checked to arrive once and in order) over the wall time
/// from the first publish. Beside each rate: the CPU time per message (dense: per MB) of this process (publishers
/// and subscriber) and of the broker it started (not for the in-process bus), over the measured loop, which stays
/// comparable when other work loads the machine. Each scenario but dense runs twice; the figure is the second
/// (warm) run, the cold first run is printed below it (JIT tiering of the client's long-running loops takes a few
/// hundred thousand messages; serve and domain processes run for hours); dense sends one unmeasured warm-up vector
/// first. Telemetry is core NATS (at most once): a run that lost messages is reported INCOMPLETE with the count
/// lost, never as met, and the benchmark exits 1.</remarks>
internal static class Program
{
    private static readonly string[] Scenarios = ["inprocess", "telemetry", "durable", "dense"];

    private static async Task<int> Main(string[] args)
    {
        var quick = false;
        string[]? only = null;
        string? url = null;
        var telemetryPending = 1 << 20;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--help" or "-h":
                    Console.WriteLine(Usage);
                    return 0;
                case "--quick":
                    quick = true;
                    break;
                case "--only":
                    // A misspelt name ran nothing and still exited 0, so a script's measurement silently went missing.
                    only = i + 1 < args.Length ? args[++i].Split(',', StringSplitOptions.TrimEntries) : null;
                    var unknown = only?.FirstOrDefault(name => !Scenarios.Contains(name));
                    if (only is null || unknown is not null)
                    {
                        await Console.Error.WriteLineAsync(only is null
                            ? $"--only needs a comma list of scenarios: {string.Join(",", Scenarios)}"
                            : $"--only: unknown scenario '{unknown}' (known: {string.Join(",", Scenarios)})").ConfigureAwait(false);
                        return 2;
                    }
                    break;
                case "--url" when i + 1 < args.Length:
                    url = args[++i];
                    break;
                case "--telemetry-pending" when i + 1 < args.Length
                    && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var pending) && pending >= 1:
                    telemetryPending = pending;
                    i++;
                    break;
                default:
                    // An unknown or misspelt option (--help included, before it existed) ran the whole benchmark.
                    await Console.Error.WriteLineAsync($"unknown option or missing value: '{args[i]}'{Environment.NewLine}{Usage}").ConfigureAwait(false);
                    return 2;
            }
        }
        bool Runs(string name) => only is null || only.Contains(name);
        Process? server = null;
        string? store = null;
        // The in-process bus needs no broker: --only inprocess starts none (url is set for every NATS scenario).
        if (url is null && Scenarios.Skip(1).Any(Runs))
        {
            (server, url, store) = await StartServerAsync().ConfigureAwait(false);
        }
        try
        {
            Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; broker {url ?? "none (in-process only)"}");
            var scale = quick ? 10 : 1;
            Console.WriteLine($"load average: {LoadAverage()}");
            s_server = server;
            // Each scenario but dense runs twice: the first run's rate is printed as "cold" (the JIT still tiering up
            // the client's long-running loops, which takes a few hundred thousand messages); the figure is the second,
            // warm run, that of a long-running serve or domain worker. Dense sends one unmeasured warm-up vector.
            if (Runs("inprocess"))
                await Twice("in-process bus deliveries", () => InProcessAsync(400_000 / scale), "msg/s", null).ConfigureAwait(false);
            if (Runs("telemetry"))
                await Twice("telemetry over NATS (core)", () => TelemetryAsync(url!, 400_000 / scale, telemetryPending), "msg/s", 200_000).ConfigureAwait(false);
            if (Runs("durable"))
                await Twice("durable policy packs, 4 publishers", () => DurablePacksAsync(url!, 4, 20_000 / scale), "acked/s", 20_000).ConfigureAwait(false);
            if (Runs("dense"))
            {
                var (put, get) = await DenseAsync(url!, quick ? 1 : 3, 16 * 1024 * 1024).ConfigureAwait(false);
                Report("dense 64 MB via object store, publish", put, "MB/s", 200);
                Report("dense 64 MB via object store, receive", get, "MB/s", 200);
            }
            Console.WriteLine($"load average: {LoadAverage()}");
            if (s_incomplete)
            {
                await Console.Error.WriteLineAsync("some runs lost messages (INCOMPLETE above): their rates are not clean figures").ConfigureAwait(false);
                return 1;
            }
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

    private const string Usage =
        """
        usage: Meta.Gpu.Nats.Benchmarks [--url nats://HOST:PORT] [--quick] [--only inprocess,telemetry,durable,dense]
                                        [--telemetry-pending N]
          --url                 broker to use (default: start its own nats-server -js on a free loopback port)
          --quick               a tenth of the messages, one dense vector instead of three
          --only                the scenarios to run, comma separated (default: all)
          --telemetry-pending   the telemetry subscriber's client buffer, messages (default: 1048576); beyond it the
                                client drops telemetry and the run is reported INCOMPLETE
        exit code: 0 done, 1 a run lost messages (INCOMPLETE), 2 bad arguments
        """;

    private static Process? s_server;
    private static bool s_incomplete;

    /// <summary>One measurement: the rate, the CPU cost beside it, and why it is not a clean figure (messages lost),
    /// if it is not.</summary>
    private sealed record Sample(double Rate, string Cpu, string? Incomplete = null);

    private static void Report(string what, Sample result, string unit, double? target)
    {
        if (result.Incomplete is not null) s_incomplete = true;
        var verdict = result.Incomplete is { } lost ? $" (INCOMPLETE: {lost})"
            : target is { } t ? string.Create(CultureInfo.InvariantCulture, $" (target >= {t:N0}: {(result.Rate >= t ? "met" : "NOT met")})") : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what,-42} {result.Rate,12:N0} {unit,-8}{verdict,-32} {result.Cpu}"));
    }

    private static async Task Twice(string what, Func<Task<Sample>> run, string unit, double? target)
    {
        var cold = await run().ConfigureAwait(false);
        Report(what, await run().ConfigureAwait(false), unit, target);
        if (cold.Incomplete is not null) s_incomplete = true;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  (cold first run: {cold.Rate:N0} {unit}{(cold.Incomplete is { } lost ? $" INCOMPLETE: {lost}" : "")}, {cold.Cpu})"));
    }

    /// <summary>CPU time of this process and of the broker it started, summed over the measured intervals
    /// (between <see cref="Start"/> and <see cref="Stop"/>), reported per message or per MB.</summary>
    private sealed class CpuClock(bool broker)
    {
        private TimeSpan _self, _broker, _selfStart, _brokerStart;

        public CpuClock Start()
        {
            _selfStart = SelfCpu();
            _brokerStart = BrokerCpu() ?? TimeSpan.Zero;
            return this;
        }

        public void Stop()
        {
            _self += SelfCpu() - _selfStart;
            _broker += (BrokerCpu() ?? TimeSpan.Zero) - _brokerStart;
        }

        /// <summary>The in-process bus never touches the broker: no broker figure for it (it printed "0.0 us").</summary>
        public string Per(double units, string unit) => string.Create(CultureInfo.InvariantCulture,
            $"CPU/{unit}: process {_self.TotalMicroseconds / units:0.0} us{(broker && s_server is not null ? $", broker {_broker.TotalMicroseconds / units:0.0} us" : "")}");

        private static TimeSpan SelfCpu()
        {
            using var self = Process.GetCurrentProcess();
            return self.TotalProcessorTime;
        }
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

    private static async Task<Sample> InProcessAsync(int count)
    {
        await using var bus = new EventBus(new EventBusOptions(QueueCapacity: 4096));
        var received = 0;
        using var _ = bus.Subscribe("telemetry", (_, _) => { received++; return ValueTask.CompletedTask; });
        var payload = TelemetryPayload();
        var cpu = new CpuClock(broker: false).Start();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++) await bus.PublishAsync("telemetry", payload).ConfigureAwait(false);
        await bus.WaitForIdleAsync().ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        cpu.Stop();
        return new Sample(received / seconds, cpu.Per(count, "msg"),
            received == count ? null : string.Create(CultureInfo.InvariantCulture, $"{count - received:N0} of {count:N0} not delivered"));
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

    /// <summary>How long the telemetry run waits with no delivery, once everything is published, before it
    /// counts the rest as lost (core NATS is at most once: a lost message never comes).</summary>
    private static readonly TimeSpan TelemetryQuiet = TimeSpan.FromSeconds(5);

    private static async Task<Sample> TelemetryAsync(string url, int count, int pending)
    {
        var options = Options(url, "bench_t" + Guid.NewGuid().ToString("N")[..6]);
        await using var subscriber = await NatsEventBus.ConnectAsync(options with { PendingCapacity = pending }).ConfigureAwait(false);
        await using var publisher = await NatsEventBus.ConnectAsync(options).ConfigureAwait(false);
        var received = 0;
        long lastDelivery = 0;
        var clock = new Stopwatch();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = subscriber.Subscribe("telemetry", (_, _) =>
        {
            Volatile.Write(ref lastDelivery, clock.ElapsedTicks);
            if (Interlocked.Increment(ref received) == count) all.TrySetResult();
            return ValueTask.CompletedTask;
        });
        await subscriber.WaitForIdleAsync().ConfigureAwait(false);
        var payload = TelemetryPayload();
        var cpu = new CpuClock(broker: true).Start();
        clock.Start();
        for (var i = 0; i < count; i++) await publisher.PublishAsync("telemetry", payload).ConfigureAwait(false);
        await publisher.WaitForIdleAsync().ConfigureAwait(false);
        // Wait while deliveries still come (up to 60 s after the last publish); a lost message never comes, and the time waited for
        // it is not the bus's: the rate runs to the last delivery.
        var seen = -1;
        var deadline = clock.Elapsed + TimeSpan.FromSeconds(60);
        while (!all.Task.IsCompleted && Volatile.Read(ref received) != seen && clock.Elapsed < deadline)
        {
            seen = Volatile.Read(ref received);
            await Task.WhenAny(all.Task, Task.Delay(TelemetryQuiet)).ConfigureAwait(false);
        }
        cpu.Stop();
        var got = Volatile.Read(ref received);
        var seconds = (double)Volatile.Read(ref lastDelivery) / Stopwatch.Frequency;
        var dropped = subscriber.NatsStats.Dropped;
        var incomplete = got == count ? null : string.Create(CultureInfo.InvariantCulture,
            $"{count - got:N0} of {count:N0} lost, {dropped:N0} dropped by the client buffer");
        return new Sample(seconds > 0 ? got / seconds : 0, cpu.Per(count, "msg"), incomplete);
    }

    private static async Task<Sample> DurablePacksAsync(string url, int publishers, int perPublisher)
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
        var cpu = new CpuClock(broker: true).Start();
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
        cpu.Stop();
        foreach (var bus in buses) await bus.DisposeAsync().ConfigureAwait(false);
        if (disorder > 0 || Volatile.Read(ref received) != total || aggregator.NatsStats.Acknowledged != total)
            throw new InvalidOperationException($"durable packs: {received} received of {total}, {aggregator.NatsStats.Acknowledged} acknowledged, {disorder} out of order or repeated");
        return new Sample(total / seconds, cpu.Per(total, "msg"));
    }

    private static async Task<(Sample Put, Sample Get)> DenseAsync(string url, int repeats, int d)
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
        var putCpu = new CpuClock(broker: true);
        var getCpu = new CpuClock(broker: true);
        for (var r = 1; r <= repeats; r++)
        {
            got = new(TaskCreationOptions.RunContinuationsAsynchronously);
            // The consumer pauses while the publisher uploads, so the two directions are timed apart.
            putCpu.Start();
            var clock = Stopwatch.StartNew();
            await domain.PublishAsync("federation.dense_update", new JsonObject { ["domain_id"] = "d", ["sequence"] = r, ["vector"] = JsonValue.Create(vector) }).ConfigureAwait(false);
            put += clock.Elapsed.TotalSeconds;
            putCpu.Stop();
            getCpu.Start();
            clock.Restart();
            var back = await got.Task.WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            get += clock.Elapsed.TotalSeconds;
            getCpu.Stop();
            if (back.Length != d || back[d - 1] != vector[d - 1]) throw new InvalidOperationException("dense vector changed in transit");
        }
        return (new Sample(megabytes * repeats / put, putCpu.Per(megabytes * repeats, "MB")),
            new Sample(megabytes * repeats / get, getCpu.Per(megabytes * repeats, "MB")));
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
