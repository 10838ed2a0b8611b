using System.Diagnostics;
using Meta.Gpu.Cli;
using Meta.Gpu.Cli.Commands.Demo;
using Meta.Gpu.Learning;
using Meta.Gpu.Nats.Tests;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
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
    private readonly string _mount = Path.Combine(Path.GetTempPath(), "meta-gpu-review-demo-full-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _out = Directory.CreateTempSubdirectory("meta-gpu-review-demo-out-").FullName;
    private bool _mounted;

    public void Dispose()
    {
        if (_mounted) Run("umount", "-l", _mount);
        try { Directory.Delete(_mount, recursive: true); } catch (IOException) { }
        Directory.Delete(_out, recursive: true);
    }

    private static int Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        p.WaitForExit();
        return p.ExitCode;
    }

    private void Mount()
    {
        Directory.CreateDirectory(_mount);
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || Run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", _mount) != 0)
            Assert.Skip("needs root on Linux to mount a small tmpfs");
        _mounted = true;
    }

    private void Fill()
    {
        using var filler = new FileStream(Path.Combine(_mount, "filler"), FileMode.Create, FileAccess.Write, FileShare.None, 1);
        try
        {
            while (true) filler.Write(new byte[4096]);
        }
        catch (IOException)
        {
            // Full: only empty files can be made now.
        }
    }

    [Fact]
    public async Task The_bus_demo_on_a_full_storage_folder_is_exit_2_with_one_line_naming_it()
    {
        Mount();
        Fill();
        await using var server = await NatsServer.StartAsync();
        var storage = Path.Combine(_mount, "store");
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
        Mount();
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
            var storage = new MetaStorageManager(new StorageConfig(Path.Combine(_mount, "store")));
            var aggregator = new SyncRoundAggregator(bus, storage, step, ["a"], 0.5, NullLogger.Instance) { RepeatEvery = TimeSpan.FromMilliseconds(20) };
            using var subscription = aggregator.Start([0f, 0f, 0f]);
            Fill();

            var e = await Assert.ThrowsAsync<InvalidInputException>(() => aggregator.RunRoundsAsync(2, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.StartsWith($"--storage {storage.Root}", e.Message, StringComparison.Ordinal);
            Assert.Contains("No space left", e.Message, StringComparison.Ordinal);
        }
    }
}
