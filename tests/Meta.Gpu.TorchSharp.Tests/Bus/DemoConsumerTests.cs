using Meta.Gpu.Cli.Commands.Demo;
using Meta.Gpu.Nats;
using Meta.Gpu.Nats.Tests;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>
/// The bus demo's durable consumer and `meta-gpu serve` on one prefix (README, "The demo with every domain in its own
/// process"): a work-queue stream takes one consumer per topic, so a complete demo deletes its own, and an aggregator
/// refused because another reads the prefix says so in one line.
/// </summary>
public sealed class DemoConsumerTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly string _dir = Directory.CreateTempSubdirectory("meta-gpu-demo-consumer-").FullName;
    private readonly string _prefix = "c" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Serve_starts_on_the_prefix_of_a_completed_bus_demo()
    {
        // README's order on one broker: the bus demo, then serve. The demo's consumer stayed on the broker after the
        // run completed, and serve on that prefix was refused for good.
        await using var server = await NatsServer.StartAsync();
        await using (var demo = CliProcess.Start("demo", "--bus", server.Url, "--prefix", _prefix, "--workers", "2",
            "--meta-rounds", "2", "--held-out", "2", "--out", _dir))
        {
            var code = await demo.WaitAsync(Limit);
            Assert.True(code == 0, demo.Output);
        }
        Assert.DoesNotContain(BusDemoRunner.DurableName, await BrokerConsumers.NamesAsync(server.Url, _prefix));

        await using var serve = CliProcess.Start("serve", "--bus", server.Url, "--prefix", _prefix,
            "--storage", Path.Combine(_dir, "serve"), "--backend", "cpu");
        await serve.WaitForLineAsync(l => l.StartsWith("serving on", StringComparison.Ordinal), Limit);
    }

    [Fact]
    public async Task A_demo_on_a_prefix_serve_reads_is_exit_2_with_one_line_naming_its_consumer()
    {
        // The demo crashed with an unhandled "filtered consumer not unique on workqueue stream" (exit 134) after
        // printing its first line and starting its workers, and left its temporary storage folder behind.
        await using var server = await NatsServer.StartAsync();
        // What `meta-gpu serve` holds on the prefix: the agent's consumer (the default durable name).
        await using var serve = await NatsEventBus.ConnectAsync(new NatsBusOptions { Url = server.Url, SubjectPrefix = _prefix });
        using var reading = serve.Subscribe("federation.dense_update", (_, _) => ValueTask.CompletedTask);
        await serve.WhenSubscribedAsync();

        var temp = Directory.CreateDirectory(Path.Combine(_dir, "tmp")).FullName;
        await using var demo = CliProcess.Start(new Dictionary<string, string> { ["TMPDIR"] = temp },
            "demo", "--bus", server.Url, "--prefix", _prefix, "--workers", "2", "--meta-rounds", "2", "--held-out", "2", "--out", _dir);
        var code = await demo.WaitAsync(Limit);

        Assert.True(code == 2, $"exit {code}: {demo.Output}");
        var line = Assert.Single(demo.Lines);
        Assert.StartsWith($"err: meta-gpu: prefix '{_prefix}': federation.dense_update is already read by another aggregator's durable consumer '{new NatsBusOptions().DurableName}'", line, StringComparison.Ordinal);
        Assert.Contains("--prefix", line, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(temp, "meta-gpu-demo-*"));
        // The refused demo took nothing from the prefix: serve's consumer is the only one.
        Assert.Equal(new[] { new NatsBusOptions().DurableName }, await BrokerConsumers.NamesAsync(server.Url, _prefix));
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
