using System.Diagnostics;
using System.Globalization;
using Meta.Gpu.Learning;
using Meta.Gpu.Nats;
using Meta.Gpu.Storage;
using Meta.Gpu.TorchSharp;
using Meta.Gpu.TorchSharp.Sine;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace Meta.Gpu.Cli.Commands.Demo;

/// <summary>
/// `meta-gpu demo --bus nats://HOST:PORT [--workers N]`: the sine demo with every domain in its own process. This
/// process is the aggregator (<see cref="SyncRoundAggregator"/>, synchronous rounds); the domains are
/// `meta-gpu domain` workers, started here with <c>--workers N</c> or elsewhere. Afterwards the same comparison,
/// table, demo.json and demo.png as the in-process demo.
/// </summary>
/// <remarks>
/// Decisions: the tasks are drawn per (seed, domain, round) (<see cref="SineTaskSeeding.PerDomainRound"/>) so that
/// workers need no shared random stream; the outer step size is the fixed <c>--beta</c> and the knobs stay at
/// their initial values (no supervisor or agent governs the run), because governance reacts to timings and the
/// run must give the same prior as the in-process run with the same settings (<c>demo --no-governance</c> with per
/// domain-round tasks). The aggregator's durable consumer is its own (<see cref="DurableName"/>), so a
/// `meta-gpu serve` on the same prefix does not take the demo's updates; a work-queue stream takes one consumer per
/// topic, so the two cannot run on one prefix at once (the second is refused with a line naming the other's
/// consumer), and a complete run deletes its consumer (<see cref="DeleteConsumerAsync"/>) so that `serve` can start
/// on the prefix afterwards. A killed or failed run keeps it, to resume through it.
/// </remarks>
internal static class BusDemoRunner
{
    public const string DurableName = "meta_gpu_sine_demo";

    /// <summary>The knobs a domain runs under when nothing governs them (DESIGN §5 initial values, as
    /// <see cref="MetaTrainingLoop"/> starts).</summary>
    private static readonly SortedDictionary<string, double> InitialKnobs = new(StringComparer.Ordinal)
    {
        ["gamma_diversity"] = 0.3,
        ["g_min"] = 0.01,
        ["lambda_ci"] = 0.5,
        ["tau"] = 0.9,
    };

    public static async Task<int> RunAsync(CliConsole console, DemoSettings settings, CancellationToken token)
    {
        // A refused subscription is the run's one error line (WhenSubscribedAsync below), not also a log line.
        var busOptions = settings.Bus! with { DurableName = DurableName, LogSubscriptionFailures = false };
        var options = new SineDemoOptions
        {
            Seed = settings.Seed,
            MetaRounds = settings.MetaRounds,
            Domains = settings.Domains,
            InnerSteps = settings.InnerSteps,
            HeldOutTasks = settings.HeldOutTasks,
            InnerLearningRate = settings.InnerLearningRate,
            TaskSeeding = SineTaskSeeding.PerDomainRound,
        };
        options.Validate();
        settings = settings with { Governance = false };
        var clock = Stopwatch.StartNew();
        using var outerStep = OuterSteps.Create(settings.Backend, field: "--backend");
        // What this run makes for --out and --storage goes again if the broker cannot be reached (nothing is in it yet).
        var madeOut = string.IsNullOrWhiteSpace(settings.OutputDirectory) ? null : NewFolders.Outermost(settings.OutputDirectory);
        var outDir = OutputFolder.Prepare(settings.OutputDirectory, "--out", "demo.json", "demo.png");
        var storageRoot = Path.GetFullPath(settings.Storage
            ?? Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"meta-gpu-demo-{DateTime.UtcNow:yyyyMMddHHmmss}-{Environment.ProcessId}")));
        var madeStorage = NewFolders.Outermost(storageRoot);
        var domainIds = SineDemo.DomainIds(options.Domains);

        using var loggers = CommandLoggers.Create();
        using var storageLock = StorageRootLock.Acquire(storageRoot);
        var storage = new MetaStorageManager(new StorageConfig(storageRoot), loggers.CreateLogger<MetaStorageManager>());
        var initialPrior = InitialPrior(options);
        NatsEventBus connected;
        try
        {
            connected = await NatsEventBus.ConnectAsync(busOptions, loggers, cancellationToken: token).ConfigureAwait(false);
        }
        catch when (madeStorage is not null || madeOut is not null)
        {
            // Nothing saved yet and the path not yet printed: a temporary folder kept now would be one nobody can
            // name to resume from, left in the temp folder by every run against a broker that is down; a --storage or
            // --out folder made for the run would be left empty behind its exit 2.
            storageLock.Dispose();
            if (madeStorage is not null) Directory.Delete(madeStorage, recursive: true);
            if (madeOut is not null && Directory.Exists(madeOut)) Directory.Delete(madeOut, recursive: true);
            throw;
        }
        await using var bus = connected;
        var aggregator = new SyncRoundAggregator(bus, storage, outerStep, domainIds, settings.Beta, loggers.CreateLogger<SyncRoundAggregator>())
        {
            Seed = options.Seed,
            Shots = options.Shots,
            InnerSteps = options.InnerSteps,
            InnerLearningRate = options.InnerLearningRate,
            RoundTimeout = settings.RoundTimeout,
            // The consumer is made (or updated) with this run's ack wait, which then times the killed run's deliveries.
            RedeliveryWait = busOptions.AckWait,
            MetaRounds = options.MetaRounds,
            DomainCountOption = settings.DomainCountOption,
        };

        IDisposable subscription;
        try
        {
            subscription = aggregator.Start(initialPrior);
            try
            {
                // Before any line or worker process: a prefix another aggregator's consumer reads (a running
                // `meta-gpu serve`, or one that ran there: its consumer stays) is refused here, as one error line.
                await bus.WhenSubscribedAsync(token).ConfigureAwait(false);
            }
            catch
            {
                subscription.Dispose();
                throw;
            }
        }
        catch when (settings.Storage is null)
        {
            // As for a broker out of reach: nothing saved, the path not printed.
            storageLock.Dispose();
            Directory.Delete(storageRoot, recursive: true);
            throw;
        }
        // Held until the bus shuts down: an update straggling in after the last round is acknowledged and ignored
        // here, not left in the stream for the prefix's next aggregator.
        using var subscribed = subscription;

        if (!settings.Quiet)
        {
            var who = settings.Workers > 0 ? $"{settings.Workers} worker processes" : "waiting for 'meta-gpu domain' workers";
            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"sine regression (Reptile) over {busOptions.DisplayUrl} (prefix {busOptions.SubjectPrefix}): seed {options.Seed}, tasks per (seed, domain, round); {options.MetaRounds} meta-rounds x {options.Domains} domains ({domainIds[0]}..{domainIds[^1]}), K={options.Shots}, {options.InnerSteps} inner SGD steps (lr {options.InnerLearningRate}); backend {settings.Backend}; fixed beta {settings.Beta}; storage {storageRoot}; {who}")).ConfigureAwait(false);
            await console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }

        float[] prior;
        var workers = settings.Workers > 0
            ? DomainWorkerProcesses.Start(domainIds,
                ["--bus", busOptions.Url, "--prefix", busOptions.SubjectPrefix, "--seed", options.Seed.ToString(CultureInfo.InvariantCulture),
                 "--rounds", options.MetaRounds.ToString(CultureInfo.InvariantCulture),
                 "--connect-timeout", busOptions.ConnectTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)])
            : null;
        try
        {
            using var run = CancellationTokenSource.CreateLinkedTokenSource(token, workers?.Failed ?? CancellationToken.None);
            var every = Math.Max(1, options.MetaRounds / 10);
            try
            {
                prior = await aggregator.RunRoundsAsync(options.MetaRounds, (round, updates) =>
                {
                    if (settings.Quiet || (round % every != 0 && round != options.MetaRounds)) return;
                    var gains = updates.Select(u => u.Metrics.GainP50 ?? double.NaN).Where(double.IsFinite).Order().ToArray();
                    var median = gains.Length == 0 ? double.NaN : gains[gains.Length / 2];
                    console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"round {round}/{options.MetaRounds}: {updates.Count} domains, median gain of adaptation {median:F4}"));
                }, run.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested && workers?.Failure is { } failure)
            {
                throw new InvalidInputException(failure);
            }
            if (workers is not null) await workers.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested && settings.Quiet && settings.Storage is null)
        {
            // An interrupted run keeps its temporary folder so that it can be resumed, and --quiet printed no first
            // line to name it: named here, or it is left in the temp folder where nobody can find it.
            await console.Error.WriteLineAsync($"demo: interrupted; the rounds saved so far are in {storageRoot} (resume with --storage {storageRoot})").ConfigureAwait(false);
            throw;
        }
        catch (Exception) when (settings.Quiet && settings.Storage is null)
        {
            // A failed run (a round timed out, a worker process failed) keeps its folder and its durable consumer so
            // that a rerun resumes: named here as for an interruption, or --quiet left it unnamed in the temp folder.
            await console.Error.WriteLineAsync($"demo: stopped; the rounds saved so far are in {storageRoot} (resume with --storage {storageRoot})").ConfigureAwait(false);
            throw;
        }
        finally
        {
            if (workers is not null) await workers.DisposeAsync().ConfigureAwait(false);
        }
        if (!settings.Quiet && aggregator.ResumedFrom > 0)
            await console.Out.WriteLineAsync($"resumed from round {aggregator.ResumedFrom} saved in {storageRoot}; {aggregator.Ignored} redelivered or duplicate updates ignored").ConfigureAwait(false);
        await bus.ShutdownAsync(TimeSpan.FromSeconds(1.5)).ConfigureAwait(false);
        await DeleteConsumerAsync(bus, loggers.CreateLogger(typeof(BusDemoRunner).FullName!), token).ConfigureAwait(false);

        var result = SineDemo.Compare(options, outerStep.Backend, prior, settings.Beta, InitialKnobs, clock.Elapsed, cancellationToken: token);
        await DemoRunner.WriteReportAsync(console, DemoRunner.Ansi(console), settings, result, outDir, token).ConfigureAwait(false);
        // A temporary folder nobody asked for is removed once the run is complete; an interrupted run keeps it
        // (its path is in the first line) so that it can be resumed with --storage.
        // Released first: a lock file still open cannot be deleted everywhere (Windows).
        storageLock.Dispose();
        if (settings.Storage is null) Directory.Delete(storageRoot, recursive: true);
        return MetaGpuApp.ExitOk;
    }

    /// <summary>
    /// Deletes the run's durable consumer once the run is complete. It is there so that a killed or failed run resumes
    /// where it stopped (the broker redelivers what it had not acknowledged); a complete run has acknowledged
    /// everything and has nothing left to resume, and a rerun on its --storage makes a new one. Left on the broker,
    /// it kept `meta-gpu serve` (another consumer of the same work-queue streams) off the prefix for good. A deletion
    /// that fails leaves the run's result valid: a warning says how to delete it by hand.
    /// </summary>
    private static async Task DeleteConsumerAsync(NatsEventBus bus, ILogger logger, CancellationToken token)
    {
        // Bounded: a broker that went away after the last round would hold the request until it is back.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(token);
        bounded.CancelAfter(bus.Options.ConnectTimeout + TimeSpan.FromSeconds(2));
        try
        {
            await bus.DeleteDurableConsumersAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or TimeoutException || (e is OperationCanceledException && !token.IsCancellationRequested))
        {
            var stream = NatsSubjects.StreamName(bus.Options.SubjectPrefix, DenseLearningLane.UpdateTopic);
            logger.LogWarning("demo: the run is complete, but its durable consumer {Name} could not be deleted ({Error}); another aggregator on prefix {Prefix} ('meta-gpu serve') is refused until it is: nats consumer rm {Stream} {Name}",
                DurableName, e is OperationCanceledException ? "the broker did not answer" : e.Message, bus.Options.SubjectPrefix, stream, DurableName);
        }
    }

    /// <summary>The network's initial parameters: what the in-process demo's learner starts from.</summary>
    internal static float[] InitialPrior(SineDemoOptions options)
    {
        using var model = new SineRegressor(options.Seed, options.InnerLearningRate);
        using var parameters = new ParameterVector(model.Module);
        var prior = new float[parameters.Length];
        parameters.CopyTo(prior);
        return prior;
    }
}
