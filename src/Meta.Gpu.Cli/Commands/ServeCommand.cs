using System.CommandLine;
using Meta.Gpu.Cli.Commands.Bus;
using Meta.Gpu.Compute;
using Meta.Gpu.Governance;
using Meta.Gpu.Learning;
using Meta.Gpu.Nats;
using Meta.Gpu.Storage;
using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// `meta-gpu serve --bus nats://HOST:PORT`: the aggregator process. Runs the learning agent (DESIGN §10) and the
/// supervisor (§6) on the broker until stopped; Ctrl-C (or SIGTERM) drains the bus and exits 0. A broker that
/// cannot be reached within the connect timeout is exit 2 with one line naming the address.
/// </summary>
/// <remarks>Domain work (<c>federation.policy_pack</c>, <c>federation.dense_update</c>) arrives through durable
/// JetStream consumers and is acknowledged only after the agent has handled it, so a killed aggregator loses
/// nothing; telemetry topics are fire-and-forget. The prior is saved under <c>--storage</c> (atomic writes, backups),
/// and a restart starts from it.</remarks>
internal static class ServeCommand
{
    public static Command Create(CliConsole console)
    {
        var bus = new BusOptions();
        var storage = new Option<string>("--storage")
        {
            Description = "Folder of the saved prior and its backups.",
            DefaultValueFactory = _ => StorageConfig.DefaultRoot,
        };
        var ackWait = new Option<double>("--ack-wait")
        {
            CustomParser = InvariantNumber.Double,
            Description = "Seconds the broker waits for an acknowledgement before redelivering domain work to the next aggregator.",
            DefaultValueFactory = _ => 30,
        };
        var backend = new Option<string>("--backend")
        {
            Description = $"Compute backend of the dense lane ({string.Join(", ", ComputeBackends.Names)}; default {ComputeBackends.Auto}: cuda, then opencl, then cpu).",
            DefaultValueFactory = _ => ComputeBackends.Auto,
        };
        var command = new Command("serve", "Run the learning agent and the supervisor against a NATS broker until stopped (Ctrl-C drains and exits 0).")
        {
            storage, ackWait, backend,
        };
        bus.AddTo(command);
        command.SetAction((result, token) => MetaGpuApp.GuardAsync(console, () =>
        {
            // A refused subscription is this command's one error line (WhenSubscribedAsync below), not also a log line.
            var options = bus.Read(result) with { AckWait = OptionSeconds.ParseAckWait(result.GetValue(ackWait)), LogSubscriptionFailures = false };
            return RunAsync(console, options, result.GetValue(storage) ?? StorageConfig.DefaultRoot,
                result.GetValue(backend) ?? ComputeBackends.Auto, token);
        }));
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, NatsBusOptions options, string storageRoot, string backendName, CancellationToken token)
    {
        using var loggers = CommandLoggers.Create();
        // The backend is chosen first so that a bad name fails before the broker is dialled.
        using var denseBackend = ComputeBackends.Create(backendName, loggers.CreateLogger("Meta.Gpu.Compute"), "--backend");
        if (string.IsNullOrWhiteSpace(storageRoot)) throw new InvalidInputException("--storage: must name a folder");
        // A folder this run makes is removed again if the broker cannot be reached: nothing has been saved in it, and a
        // mistyped --bus left it, with its lock file, behind an exit 2.
        var made = NewFolders.Outermost(storageRoot);
        // One writer per storage folder: a second aggregator's saves would erase what this one acknowledged.
        using var storageLock = StorageRootLock.Acquire(storageRoot);
        var storage = new MetaStorageManager(new StorageConfig(storageRoot), loggers.CreateLogger<MetaStorageManager>());
        // Governance reads memory pressure from the device the dense lane computes on (§13), where a domain's
        // telemetry or window does not carry it: the supervisor's vram_util, the agent's DRG and scheduler vram_high.
        // Declared before the bus, so that it outlives the handlers the bus may still run. Its vram_high is the
        // governance configuration's (§13: the DRG vram-high threshold of §5), taken from the object the supervisor
        // runs with so that the two cannot differ; serve takes no configuration, so that is the default's 0.85.
        var governance = IntegrativeMetaConfig.Default;
        using var deviceTelemetry = DeviceTelemetry.ForBackend(denseBackend, governance.DrgPolicy.VramHigh, logger: loggers.CreateLogger("Meta.Gpu.Telemetry"));
        NatsEventBus connected;
        try
        {
            connected = await NatsEventBus.ConnectAsync(options, loggers, cancellationToken: token).ConfigureAwait(false);
        }
        catch when (made is not null)
        {
            // Released first: a lock file still open cannot be deleted everywhere (Windows).
            storageLock.Dispose();
            Directory.Delete(made, recursive: true);
            throw;
        }
        await using var bus = connected;
        var supervisor = new MetaSupervisor(bus, governance, deviceTelemetry: deviceTelemetry, logger: loggers.CreateLogger<MetaSupervisor>());
        var agent = new MetaLearningAgent(bus, store: new StoragePriorStore(storage), logger: loggers.CreateLogger<MetaLearningAgent>(),
            deviceTelemetry: deviceTelemetry, denseBackend: denseBackend);
        supervisor.Start();
        await agent.StartAsync(token).ConfigureAwait(false);
        // A subscription that could not be opened would leave the service running without its domain work.
        await bus.WhenSubscribedAsync(token).ConfigureAwait(false);
        await console.Out.WriteLineAsync($"serving on {options.DisplayUrl} (prefix {options.SubjectPrefix}, storage {storageRoot}, dense backend {denseBackend.Name}); Ctrl-C to stop").ConfigureAwait(false);
        await console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        // Ctrl-C and SIGTERM cancel the command line's token (TerminationSignals): the service drains and exits 0.
        try
        {
            await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C / SIGTERM: drain below.
        }
        await bus.ShutdownAsync(TimeSpan.FromSeconds(1.5)).ConfigureAwait(false);
        await agent.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await supervisor.StopAsync(CancellationToken.None).ConfigureAwait(false);
        var stats = bus.Stats;
        await console.Out.WriteLineAsync($"stopped: {agent.Rounds} rounds, {stats.Delivered} deliveries, {stats.Errors} handler errors, {bus.NatsStats.Rejected} rejected, {bus.NatsStats.Reconnects} reconnects").ConfigureAwait(false);
        return MetaGpuApp.ExitOk;
    }
}
