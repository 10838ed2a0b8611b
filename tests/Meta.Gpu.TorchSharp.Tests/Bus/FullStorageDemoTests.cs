using Meta.Gpu.Cli;
using Meta.Gpu.Cli.Commands.Demo;
using Meta.Gpu.Learning;
using Meta.Gpu.Nats.Tests;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>
/// `meta-gpu demo --bus --storage DIR` on a full file system (a tiny tmpfs, filled: needs root to mount, skipped
/// otherwise). The run record and each round's prior are written into the folder; on a full disk the IOException
/// escaped the command as an unhandled exception (a stack trace, exit 134) instead of README's one-line error, exit
/// 2 (an output that cannot be written).
/// </summary>
public sealed class FullStorageDemoTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("meta-gpu-demo-full-out-").FullName;
    private SmallTmpfs? _tmpfs;

    public void Dispose()
    {
        _tmpfs?.Dispose();
        Directory.Delete(_out, recursive: true);
    }

    private string Mount()
    {
        _tmpfs = SmallTmpfs.MountOrSkip(Path.Combine(Path.GetTempPath(), "meta-gpu-demo-full-" + Guid.NewGuid().ToString("N")[..8]));
        return _tmpfs.Path;
    }

    [Fact]
    public async Task The_bus_demo_on_a_full_storage_folder_is_exit_2_with_one_line_naming_it()
    {
        var storage = Path.Combine(Mount(), "store");
        _tmpfs!.Fill();
        await using var server = await NatsServer.StartAsync();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await MetaGpuApp.RunAsync(
            ["demo", "--bus", server.Url, "--prefix", "f" + Guid.NewGuid().ToString("N")[..8], "--domains", "1", "--meta-rounds", "1",
             "--held-out", "2", "--round-timeout", "5", "--storage", storage, "--out", _out, "--quiet"],
            new CliConsole(TextReader.Null, output, error)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith($"meta-gpu: --storage {storage}", error.ToString(), StringComparison.Ordinal);
        Assert.Single(error.ToString().Trim().Split('\n'));
    }

    [Fact]
    public async Task A_round_whose_prior_cannot_be_saved_stops_the_run_with_an_error_naming_the_storage_folder()
    {
        var mount = Mount();
        var bus = new EventBus();
        await using (bus)
        {
            using var domains = bus.Subscribe(SinePriorAnnouncement.Topic, async (e, token) =>
            {
                var a = SinePriorAnnouncement.FromPayload(e.Payload);
                await bus.PublishAsync(DenseLearningLane.UpdateTopic,
                    new DenseUpdate("a", a.AnswerSequence, 1.0, new DomainMetrics(GainP50: 0.5), [.. a.Prior.Select(v => v + 1)]), token);
            });
            using var step = new WeightedMeanReptileStep();
            var storage = new MetaStorageManager(new StorageConfig(Path.Combine(mount, "store")));
            var aggregator = new SyncRoundAggregator(bus, storage, step, ["a"], 0.5, NullLogger.Instance) { RepeatEvery = TimeSpan.FromMilliseconds(20) };
            using var subscription = aggregator.Start([0f, 0f, 0f]);
            _tmpfs!.Fill();

            var e = await Assert.ThrowsAsync<InvalidInputException>(() => aggregator.RunRoundsAsync(2, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.StartsWith($"--storage {storage.Root}", e.Message, StringComparison.Ordinal);
            Assert.Contains("No space left", e.Message, StringComparison.Ordinal);
        }
    }
}
