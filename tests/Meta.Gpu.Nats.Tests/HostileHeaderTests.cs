using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using NATS.Client.Core;

namespace Meta.Gpu.Nats.Tests;

/// <summary>a telemetry message carrying a dense-object kind header on a core-only deployment (broker without
/// JetStream) must be rejected and counted; the topic's feed must go on delivering.</summary>
public sealed class HostileHeaderTests
{
    [Fact]
    public async Task A_dense_object_header_on_a_telemetry_topic_without_JetStream_does_not_kill_the_feed()
    {
        var executable = NatsServer.FindExecutable();
        if (executable is null) Assert.Skip("nats-server is not installed");
        var port = NatsServer.FreePort();
        var info = new ProcessStartInfo(executable) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture) }) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            var url = $"nats://127.0.0.1:{port}";
            NatsEventBus? connected = null;
            for (var i = 0; i < 100 && connected is null; i++)
            {
                try
                {
                    // Core only: no durable or dense topics, so no JetStream is needed.
                    connected = await NatsEventBus.ConnectAsync(new NatsBusOptions
                    {
                        Url = url, SubjectPrefix = "review", DurableTopics = [], DenseTopics = [], ConnectTimeout = TimeSpan.FromSeconds(5),
                    });
                }
                catch (InvalidInputException)
                {
                    await Task.Delay(100);
                }
            }
            await using var bus = connected ?? throw new InvalidOperationException("no broker");
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var after = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var _ = bus.Subscribe("telemetry", (e, _) =>
            {
                var tag = BusPayload.AsObject(e.Payload, e.Topic)["tag"]?.GetValue<string>();
                if (tag == "ready") ready.TrySetResult();
                if (tag == "after") after.TrySetResult();
                return ValueTask.CompletedTask;
            });
            await bus.PublishAsync("telemetry", new JsonObject { ["tag"] = "ready" });
            await ready.Task.WaitAsync(Buses.Patience);

            await using (var raw = new NatsConnection(new NatsOpts { Url = url }))
            {
                var envelope = new JsonObject
                {
                    ["tag"] = "hostile",
                    ["vector_object"] = new JsonObject { ["name"] = "x", ["sha256"] = "00", ["size"] = 16 },
                };
                await raw.PublishAsync("review.telemetry", Encoding.UTF8.GetBytes(envelope.ToJsonString()),
                    headers: new NatsHeaders { ["Meta-Gpu-Kind"] = "dense-object" });
                await raw.PublishAsync("review.telemetry", Encoding.UTF8.GetBytes("{\"tag\":\"after\"}"));
                await raw.PingAsync();
            }

            await after.Task.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(1, bus.NatsStats.Rejected);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }
}
