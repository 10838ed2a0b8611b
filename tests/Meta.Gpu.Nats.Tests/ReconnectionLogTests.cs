using System.Diagnostics;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// A broker restart under a running aggregator: the bus warns "disconnected ...; reconnecting" and, once the broker
/// is back, says so. The reconnection line was an information line (below the commands' warning threshold, so
/// `serve` showed the warning and never the recovery) and, like the first "connected to" line, carried the broker
/// address with its password.
/// </summary>
public sealed class ReconnectionLogTests
{
    [Fact]
    public async Task The_connection_and_reconnection_lines_show_the_address_without_its_password()
    {
        await using var server = await NatsServer.StartAsync(credentials: ("alice", "s3cret"));
        var log = new RecordingLogger();
        var options = Buses.Options(server) with { Url = $"nats://alice:s3cret@127.0.0.1:{server.Port}" };
        await using var bus = await NatsEventBus.ConnectAsync(options, logger: log);
        await bus.PublishAsync("telemetry", new Dictionary<string, object?> { ["before"] = true });
        await bus.WaitForIdleAsync().WaitAsync(Buses.Patience);

        await server.RestartAsync(TimeSpan.FromMilliseconds(200));
        var deadline = Stopwatch.StartNew();
        while (!log.Entries.Any(e => e.Message.StartsWith("bus: reconnected to", StringComparison.Ordinal)))
        {
            Assert.True(deadline.Elapsed < Buses.Patience, $"no reconnection in the log: {string.Join(" | ", log.Entries.Select(e => e.Message))}");
            await Task.Delay(10);
        }

        var lines = log.Entries.Select(e => e.Message).ToList();
        Assert.DoesNotContain(lines, l => l.Contains("s3cret", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"nats://alice:***@127.0.0.1:{server.Port}", StringComparison.Ordinal) && l.StartsWith("bus: reconnected to", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_says_on_standard_error_that_it_reconnected_after_a_broker_restart()
    {
        await using var server = await NatsServer.StartAsync();
        var storage = Directory.CreateTempSubdirectory("meta-gpu-serve-").FullName;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "meta-gpu.dll"), "serve", "--bus", server.Url, "--prefix", "r" + Guid.NewGuid().ToString("N")[..8], "--storage", storage, "--backend", "cpu" })
            info.ArgumentList.Add(a);
        using var serve = Process.Start(info)!;
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var serving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        serve.OutputDataReceived += (_, e) => { if (e.Data is null) return; lines.Enqueue(e.Data); if (e.Data.StartsWith("serving on", StringComparison.Ordinal)) serving.TrySetResult(); };
        serve.ErrorDataReceived += (_, e) => { if (e.Data is null) return; lines.Enqueue("err: " + e.Data); if (e.Data.Contains("bus: reconnected to", StringComparison.Ordinal)) reconnected.TrySetResult(); };
        serve.BeginOutputReadLine();
        serve.BeginErrorReadLine();
        try
        {
            await serving.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await server.RestartAsync(TimeSpan.FromMilliseconds(200));
            var first = await Task.WhenAny(reconnected.Task, Task.Delay(TimeSpan.FromSeconds(10)));
            Assert.True(first == reconnected.Task, $"no reconnection line within 10 s of the broker's restart: {string.Join(" | ", lines)}");
            Assert.Contains(lines, l => l.StartsWith("err: ", StringComparison.Ordinal) && l.Contains("bus: disconnected from", StringComparison.Ordinal));
        }
        finally
        {
            if (!serve.HasExited) serve.Kill(entireProcessTree: true);
            await serve.WaitForExitAsync();
            Directory.Delete(storage, recursive: true);
        }
    }
}
