using System.Globalization;
using Meta.Gpu.Cli;
using Meta.Gpu.Cli.Commands.Demo;
using Meta.Gpu.Learning;
using Meta.Gpu.Nats;
using Meta.Gpu.Nats.Tests;
using Meta.Gpu.Storage;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>
/// A bus demo whose aggregator was killed (SIGKILL) while it held an update of the open round, rerun on the same
/// `--storage` with a `--round-timeout` below `--ack-wait`: the held update comes back from the broker only after the
/// ack wait (the domain's answer sent again is the same message, dropped by the broker as a duplicate), and the rerun
/// gave up on the round before that, exit 2 "no update from domain-000 within 2 s". README: the rerun resumes, and
/// what the killed run took in comes back after `--ack-wait`; so a resumed run's first round waits that long too.
/// </summary>
public sealed class ResumeAckWaitTests : IDisposable
{
    private const double AckWait = 6;
    private const double RoundTimeout = 2;
    private const long SequenceBase = 1_000_000; // SavedSineRun's
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly string _dir = Directory.CreateTempSubdirectory("meta-gpu-review-resume-ack-wait-").FullName;
    private readonly string _prefix = "a" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_resumed_run_with_a_round_timeout_below_the_ack_wait_waits_for_the_killed_runs_update_to_come_back()
    {
        await using var server = await NatsServer.StartAsync();
        var storage = Path.Combine(_dir, "storage");
        SavedSineRun.Write(storage, round: 5, domains: 2);
        string[] Args(double roundTimeout) =>
            ["demo", "--bus", server.Url, "--prefix", _prefix, "--domains", "2", "--meta-rounds", "6", "--held-out", "2",
             "--storage", storage, "--out", Path.Combine(_dir, "out"), "--ack-wait", AckWait.ToString(CultureInfo.InvariantCulture),
             "--round-timeout", roundTimeout.ToString(CultureInfo.InvariantCulture)];

        // The killed run: a round timeout it cannot meet on a loaded machine would end it before the kill.
        await using (var first = CliProcess.Start(Args(60)))
        {
            await first.WaitForLineAsync(l => l.Contains("waiting for 'meta-gpu domain' workers", StringComparison.Ordinal), Limit);
            await PublishAsync(server.Url, "domain-000");
            // Round 6 stays open (domain-001 has not answered) with domain-000's update taken in and not acknowledged.
            await UntilAsync(async () => (await ConsumerAsync(server.Url)).Info.NumAckPending == 1, first);
            await first.KillAsync();
        }
        // The domains answer the resumed run's announcement of round 6: domain-000's answer is the message the killed
        // run holds (same id, dropped as a duplicate), domain-001's is new.
        await PublishAsync(server.Url, "domain-000", "domain-001");

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await MetaGpuApp.RunAsync(Args(RoundTimeout), new CliConsole(TextReader.Null, stdout, stderr)).WaitAsync(Limit);

        Assert.True(code == MetaGpuApp.ExitOk, $"exit {code}: {stderr}");
        Assert.Contains("resumed from round 5", stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal(6, new MetaStorageManager(new StorageConfig(storage)).LoadDensePrior()!.Round);
    }

    /// <summary>The longer wait is still bounded, and the error says where its length came from.</summary>
    [Fact]
    public async Task A_resumed_runs_first_round_that_gets_nothing_stops_after_the_round_timeout_and_the_ack_wait()
    {
        await using var server = await NatsServer.StartAsync();
        var storage = Path.Combine(_dir, "storage");
        SavedSineRun.Write(storage, round: 5, domains: 1);

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await MetaGpuApp.RunAsync(
            ["demo", "--bus", server.Url, "--prefix", _prefix, "--domains", "1", "--meta-rounds", "6", "--held-out", "2",
             "--storage", storage, "--out", Path.Combine(_dir, "out"), "--ack-wait", "0.1", "--round-timeout", "1", "--quiet"],
            new CliConsole(TextReader.Null, stdout, stderr)).WaitAsync(Limit);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith("meta-gpu: round 6: no update from domain-000 within 1.1 s (1 s and, as the first round of a resumed run, the 0.1 s ack wait)",
            stderr.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Round 6's updates of <paramref name="domains"/>, as a `meta-gpu domain` publishes them.</summary>
    private async Task PublishAsync(string url, params string[] domains)
    {
        var d = new MetaStorageManager(new StorageConfig(Path.Combine(_dir, "storage"))).LoadDensePrior()!.D;
        await using var bus = await NatsEventBus.ConnectAsync(new NatsBusOptions { Url = url, SubjectPrefix = _prefix, ConnectTimeout = TimeSpan.FromSeconds(10) });
        foreach (var domain in domains)
        {
            var vector = new float[d];
            Array.Fill(vector, 0.25f);
            await bus.PublishAsync(DenseLearningLane.UpdateTopic, new DenseUpdate(domain, SequenceBase + 6, 1.0, new DomainMetrics(GainP50: 0.1), vector));
        }
        await bus.ShutdownAsync(TimeSpan.FromSeconds(10));
    }

    private async Task<INatsJSConsumer> ConsumerAsync(string url)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = url });
        return await new NatsJSContext(connection).GetConsumerAsync(
            NatsSubjects.StreamName(_prefix, DenseLearningLane.UpdateTopic), BusDemoRunner.DurableName);
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, CliProcess process)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"the aggregator took no update within {Limit.TotalSeconds} s: {process.Output}");
            await Task.Delay(50);
        }
    }
}
