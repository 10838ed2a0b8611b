using static System.FormattableString;
using System.CommandLine;
using System.Runtime.CompilerServices;
using Meta.Gpu.Cli.Commands.Bus;
using Meta.Gpu.Cli.Commands.Demo;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// `meta-gpu demo`: few-shot sine-wave regression meta-learned with Reptile through the engine, governed live on
/// the bus; prints the post-adaptation MSE table and writes demo.json and demo.png (DESIGN §15).
/// </summary>
/// <remarks>
/// TorchSharp and libtorch load only when this command runs (<see cref="DemoRunner"/> is the first code that
/// names a TorchSharp type), so every other command works on machines without libtorch.
/// </remarks>
internal static class DemoCommand
{
    public static Command Create(CliConsole console)
    {
        var defaults = new DemoSettings();
        var output = new Option<string>("--out") { Description = "Folder for demo.json and demo.png.", DefaultValueFactory = _ => "." };
        var seed = new Option<int>("--seed") { CustomParser = InvariantNumber.Int32, Description = "Base seed, at most 2147483644; the model init uses it, training tasks seed+1 (with --bus: per seed, domain and round), held-out tasks seed+2.", DefaultValueFactory = _ => defaults.Seed };
        var rounds = new Option<int>("--meta-rounds") { CustomParser = InvariantNumber.Int32, Description = "Meta-rounds, i.e. outer Reptile steps.", DefaultValueFactory = _ => defaults.MetaRounds };
        var domains = new Option<int>("--domains") { CustomParser = InvariantNumber.Int32, Description = "Tasks (domains) per meta-round.", DefaultValueFactory = _ => defaults.Domains };
        var innerSteps = new Option<int>("--inner-steps") { CustomParser = InvariantNumber.Int32, Description = "SGD steps of the inner loop on the K shots.", DefaultValueFactory = _ => defaults.InnerSteps };
        var innerLr = new Option<double>("--inner-lr") { CustomParser = InvariantNumber.Double, Description = "Learning rate of the inner SGD steps.", DefaultValueFactory = _ => defaults.InnerLearningRate };
        var beta = new Option<double>("--beta") { CustomParser = InvariantNumber.Double, Description = "Outer (Reptile) step size to start from; with governance on, the optimizer's beta takes over.", DefaultValueFactory = _ => defaults.Beta };
        var heldOut = new Option<int>("--held-out") { CustomParser = InvariantNumber.Int32, Description = "Held-out tasks in the final comparison.", DefaultValueFactory = _ => defaults.HeldOutTasks };
        var backend = new Option<string>("--backend") { Description = "Compute backend of the outer step: cpu (default), cuda, opencl, ilgpu-cpu, auto; host = a plain weighted mean without the engine.", DefaultValueFactory = _ => defaults.Backend };
        var noGovernance = new Option<bool>("--no-governance") { Description = "Run without the supervisor and agent on the bus (fixed outer step size)." };
        var quiet = new Option<bool>("--quiet") { Description = "Print only the result table and its one-line summary (no progress)." };
        var bus = new BusOptions(required: false);
        var workers = new Option<int>("--workers") { CustomParser = InvariantNumber.Int32, Description = "With --bus: start this many domain worker processes (meta-gpu domain), one per domain; 0 (default): workers are started elsewhere." };
        var storage = new Option<string?>("--storage") { Description = "With --bus: folder of the saved prior; rerunning on it resumes an interrupted run (default: a new temporary folder)." };
        var ackWait = new Option<double>("--ack-wait") { CustomParser = InvariantNumber.Double, Description = "With --bus: seconds before the broker redelivers an update a crashed aggregator took but did not apply.", DefaultValueFactory = _ => 30 };
        var roundTimeout = new Option<double>("--round-timeout") { CustomParser = InvariantNumber.Double, Description = "With --bus: seconds a round waits for every domain's update before the run stops with an error (the first round of a resumed run waits --ack-wait longer, for the killed run's updates to come back).", DefaultValueFactory = _ => 60 };
        var command = new Command("demo", "Meta-learn few-shot sine regression (Reptile) through the engine and compare starting points.")
        {
            output, seed, rounds, domains, innerSteps, innerLr, beta, heldOut, backend, noGovernance, quiet, workers, storage, ackWait, roundTimeout,
        };
        bus.AddTo(command);
        command.SetAction((result, token) => MetaGpuApp.GuardAsync(console, () => RunAsync(console, new DemoSettings
        {
            OutputDirectory = result.GetValue(output) ?? ".",
            Seed = result.GetValue(seed),
            MetaRounds = result.GetValue(rounds),
            // With --workers N and no --domains, the run has N domains.
            Domains = WorkersSetDomains(result, workers, domains) ? result.GetValue(workers) : result.GetValue(domains),
            DomainCountOption = WorkersSetDomains(result, workers, domains) ? "--workers" : "--domains",
            InnerSteps = result.GetValue(innerSteps),
            InnerLearningRate = result.GetValue(innerLr),
            Beta = result.GetValue(beta),
            HeldOutTasks = result.GetValue(heldOut),
            Backend = result.GetValue(backend) ?? defaults.Backend,
            Governance = !result.GetValue(noGovernance),
            Quiet = result.GetValue(quiet),
            Bus = BusOnly(result, bus, ackWait, roundTimeout) ? AckWait(bus.Read(result), result.GetValue(ackWait)) : null,
            Workers = result.GetValue(workers),
            Storage = result.GetValue(storage),
            RoundTimeout = OptionSeconds.Parse(result.GetValue(roundTimeout), "--round-timeout"),
        }, token)));
        return command;
    }

    private static bool WorkersSetDomains(ParseResult result, Option<int> workers, Option<int> domains) =>
        result.GetValue(workers) > 0 && result.GetResult(domains) is null or { Implicit: true };

    /// <summary>Whether the run goes over a broker; an option only such a run reads, given without <c>--bus</c>, or
    /// an empty <c>--bus</c>, is an error rather than silently an in-process run.</summary>
    private static bool BusOnly(ParseResult result, BusOptions bus, Option<double> ackWait, Option<double> roundTimeout)
    {
        var url = result.GetResult(bus.Url);
        if (url is { Implicit: false } && string.IsNullOrWhiteSpace(result.GetValue(bus.Url)))
            throw new InvalidInputException("--bus: must name a broker (nats://HOST:PORT)");
        if (url is { Implicit: false }) return true;
        foreach (var option in new Option[] { ackWait, roundTimeout, bus.Prefix, bus.ConnectTimeout })
        {
            if (result.GetResult(option) is { Implicit: false })
                throw new InvalidInputException($"{option.Name}: only a run over --bus nats://HOST:PORT uses it");
        }
        return false;
    }

    private static Meta.Gpu.Nats.NatsBusOptions AckWait(Meta.Gpu.Nats.NatsBusOptions options, double seconds) =>
        options with { AckWait = OptionSeconds.ParseAckWait(seconds) };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<int> RunAsync(CliConsole console, DemoSettings settings, CancellationToken token)
    {
        settings.Validate();
        try
        {
            return await DemoRunner.RunAsync(console, settings, token).ConfigureAwait(false);
        }
        catch (Exception e) when (NativeLoadFailure(e) is { } reason)
        {
            await console.Error.WriteLineAsync(
                $"meta-gpu: demo needs TorchSharp's native libraries (libtorch), which failed to load: {reason}").ConfigureAwait(false);
            return MetaGpuApp.ExitCheckFailed;
        }
    }

    /// <summary>The reason when <paramref name="e"/> is libtorch (or its wrapper) failing to load.</summary>
    internal static string? NativeLoadFailure(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
            if (inner is DllNotFoundException or BadImageFormatException || (inner is NotSupportedException && inner.Message.Contains("libtorch", StringComparison.OrdinalIgnoreCase)))
                return inner.Message.ReplaceLineEndings(" ");
        return null;
    }
}
