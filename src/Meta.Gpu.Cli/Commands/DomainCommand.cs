using System.CommandLine;
using System.Runtime.CompilerServices;
using Meta.Gpu.Cli.Commands.Bus;
using Meta.Gpu.Cli.Commands.Demo;
using Meta.Gpu.Learning;
using Meta.Gpu.Nats;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// `meta-gpu domain --bus nats://HOST:PORT --id NAME`: one domain worker of the sine demo as its own process
/// (<see cref="SineDomainWorker"/>): takes each prior the aggregator (`meta-gpu demo --bus`) announces, adapts to
/// this domain's task of that round and publishes the adapted parameters on the durable topic. Runs until Ctrl-C
/// (drains, exit 0) or until the update for meta-round <c>--rounds</c> is published. A broker that cannot be
/// reached is exit 2 with one line naming the address, as for `serve`.
/// </summary>
internal static class DomainCommand
{
    public static Command Create(CliConsole console)
    {
        var bus = new BusOptions();
        var id = new Option<string>("--id") { Description = "This domain's id; the demo's aggregator expects domain-000, domain-001, ...", Required = true };
        var seed = new Option<int?>("--seed") { CustomParser = InvariantNumber.NullableInt32, Description = "The run's base seed, checked against the aggregator's (default: take the aggregator's)." };
        var rounds = new Option<long?>("--rounds") { CustomParser = InvariantNumber.NullableInt64, Description = "Stop after publishing the update of this meta-round, or at once if the aggregator is already past it (default: run until Ctrl-C)." };
        var quiet = new Option<bool>("--quiet") { Description = "Print only the first and last lines." };
        // The bus demo's own workers: their standard input is a pipe from the demo, closed when the demo ends in
        // whatever way (kill -9 included), which ends them too rather than leaving them waiting for good.
        var untilStdinCloses = new Option<bool>(UntilStdinClosesOption) { Description = "Stop (as on Ctrl-C) when standard input reaches its end.", Hidden = true };
        var command = new Command("domain", "Run one domain worker of the sine demo against a NATS broker: adapt from each announced prior, publish the adapted parameters.")
        {
            id, seed, rounds, quiet, untilStdinCloses,
        };
        bus.AddTo(command);
        command.SetAction((result, token) => MetaGpuApp.GuardAsync(console, () =>
        {
            var domainId = (result.GetValue(id) ?? "").Trim();
            if (domainId.Length == 0) throw new InvalidInputException("--id: must name the domain");
            // Refused before the broker is dialled: such an id failed only at the first publish, a round later.
            if (DomainIds.Problem(domainId) is { } problem) throw new InvalidInputException($"--id: {problem}");
            if (domainId.Any(char.IsControl)) throw new InvalidInputException("--id: must not contain control characters (the id travels in a message header)");
            if (result.GetValue(rounds) is < 1) throw new InvalidInputException($"--rounds: must be >= 1, got {result.GetValue(rounds)}");
            return RunAsync(console, bus.Read(result), domainId, result.GetValue(seed), result.GetValue(rounds), result.GetValue(quiet),
                result.GetValue(untilStdinCloses), token);
        }));
        return command;
    }

    /// <summary>The hidden option the bus demo starts its workers with.</summary>
    public const string UntilStdinClosesOption = "--until-stdin-closes";

    private static async Task<int> RunAsync(CliConsole console, NatsBusOptions options, string domainId, int? seed, long? rounds, bool quiet,
        bool untilStdinCloses, CancellationToken token)
    {
        using var loggers = CommandLoggers.Create();
        await using var bus = await NatsEventBus.ConnectAsync(options, loggers, cancellationToken: token).ConfigureAwait(false);
        await console.Out.WriteLineAsync($"domain {domainId} on {options.DisplayUrl} (prefix {options.SubjectPrefix}): waiting for the aggregator's prior; Ctrl-C to stop").ConfigureAwait(false);
        await console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        // Ctrl-C and SIGTERM cancel the command line's token (TerminationSignals): the worker drains and exits 0.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
        if (untilStdinCloses) _ = StopAtEndOfInputAsync(console.In, stop);
        int answered;
        try
        {
            answered = await WorkAsync(console, bus, domainId, seed, rounds, quiet, loggers.CreateLogger("Meta.Gpu.Domain"), stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            answered = -1; // Ctrl-C / SIGTERM: drain below.
        }
        catch (Exception e) when (DemoCommand.NativeLoadFailure(e) is { } reason)
        {
            await console.Error.WriteLineAsync($"meta-gpu: domain needs TorchSharp's native libraries (libtorch), which failed to load: {reason}").ConfigureAwait(false);
            return MetaGpuApp.ExitCheckFailed;
        }
        // Everything published is already in the broker's stream; the drain lets the last publish finish.
        await bus.ShutdownAsync(TimeSpan.FromSeconds(1.5)).ConfigureAwait(false);
        await console.Out.WriteLineAsync(answered >= 0 ? $"stopped: {domainId} answered {answered} rounds" : $"stopped: {domainId} (interrupted)").ConfigureAwait(false);
        return MetaGpuApp.ExitOk;
    }

    private static async Task StopAtEndOfInputAsync(TextReader input, CancellationTokenSource stop)
    {
        var buffer = new char[256];
        try
        {
            while (await input.ReadAsync(buffer.AsMemory(), stop.Token).ConfigureAwait(false) > 0)
            {
            }
            await stop.CancelAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped otherwise.
        }
        catch (ObjectDisposedException)
        {
            // The run is over.
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<int> WorkAsync(CliConsole console, NatsEventBus bus, string domainId, int? seed, long? rounds, bool quiet, ILogger logger, CancellationToken token)
    {
        var worker = new SineDomainWorker(bus, domainId, seed, logger);
        await worker.RunAsync(rounds, (round, outcome) =>
        {
            if (!quiet) console.Out.WriteLine(SineDomainWorker.Describe(domainId, round, outcome));
        }, token).ConfigureAwait(false);
        return worker.Answered;
    }
}
