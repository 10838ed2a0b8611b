using System.Globalization;
using System.Text;
using Meta.Gpu.Governance;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.TorchSharp;
using Meta.Gpu.TorchSharp.Sine;
using Spectre.Console;

namespace Meta.Gpu.Cli.Commands.Demo;

/// <summary>Runs the sine demo for `meta-gpu demo`: progress on the terminal, then the table, demo.json and
/// demo.png.</summary>
internal static class DemoRunner
{
    public static async Task<int> RunAsync(CliConsole console, DemoSettings settings, CancellationToken token)
    {
        if (settings.Bus is not null) return await BusDemoRunner.RunAsync(console, settings, token).ConfigureAwait(false);
        var options = new SineDemoOptions
        {
            Seed = settings.Seed,
            MetaRounds = settings.MetaRounds,
            Domains = settings.Domains,
            InnerSteps = settings.InnerSteps,
            HeldOutTasks = settings.HeldOutTasks,
            InnerLearningRate = settings.InnerLearningRate,
        };
        options.Validate();
        using var outerStep = OuterSteps.Create(settings.Backend, field: "--backend");
        var outDir = OutputFolder.Prepare(settings.OutputDirectory, "--out", "demo.json", "demo.png");

        var ansi = Ansi(console);

        if (!settings.Quiet)
        {
            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"sine regression (Reptile): seeds model_init={options.Seed} train_tasks={options.Seed + 1} held_out_tasks={options.Seed + 2}; " +
                $"{options.MetaRounds} meta-rounds x {options.Domains} domains, K={options.Shots}, {options.InnerSteps} inner SGD steps (lr {options.InnerLearningRate}); " +
                $"backend {settings.Backend}; governance {(settings.Governance ? "on" : "off")}")).ConfigureAwait(false);
        }

        SineDemoResult result;
        if (!settings.Quiet && console.IsInteractive)
        {
            result = await ansi.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var training = ctx.AddTask("meta-training", maxValue: options.MetaRounds);
                    var evaluating = ctx.AddTask("held-out tasks", autoStart: false, maxValue: options.HeldOutTasks);
                    return await RunDemoAsync(options, outerStep, settings, p =>
                    {
                        if (p.Phase == "meta-training")
                        {
                            training.Value = p.Done;
                            if (p.Round is { } r)
                                training.Description = string.Create(CultureInfo.InvariantCulture,
                                    $"meta-training  loss {r.LossBefore:F3} -> {r.LossAfter:F3}  beta {r.Beta:F3}");
                        }
                        else
                        {
                            training.StopTask();
                            if (!evaluating.IsStarted) evaluating.StartTask();
                            evaluating.Value = p.Done;
                        }
                    }, token).ConfigureAwait(false);
                }).ConfigureAwait(false);
        }
        else
        {
            var every = Math.Max(1, options.MetaRounds / 10);
            result = await RunDemoAsync(options, outerStep, settings, p =>
            {
                if (settings.Quiet || p.Phase != "meta-training" || p.Round is not { } r || (p.Done % every != 0 && p.Done != p.Total)) return;
                console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {p.Done}/{p.Total}: median task loss {r.LossBefore:F4} before adaptation, {r.LossAfter:F4} after; beta {r.Beta:F3}"));
            }, token).ConfigureAwait(false);
        }

        await WriteReportAsync(console, ansi, settings, result, outDir, token).ConfigureAwait(false);
        return MetaGpuApp.ExitOk;
    }

    /// <summary>demo.json, demo.png, the table and the summary line (the same for a run over a broker).</summary>
    internal static async Task WriteReportAsync(CliConsole console, IAnsiConsole ansi, DemoSettings settings, SineDemoResult result, string outDir, CancellationToken token)
    {
        var jsonPath = Path.Combine(outDir, "demo.json");
        var pngPath = Path.Combine(outDir, "demo.png");
        // Both made before either is written: a plot that failed to render left a new demo.json beside an old demo.png.
        var json = new UTF8Encoding(false).GetBytes(DemoReport.Json(result, settings.Governance));
        var png = DemoPlot.Png(result);
        try
        {
            // Each file whole or as it was: written beside and renamed over (a full disk left a truncated demo.json).
            AtomicFile.WriteAllBytes(jsonPath, json);
            AtomicFile.WriteAllBytes(pngPath, png);
        }
        catch (IOException e)
        {
            throw new InvalidInputException($"--out: cannot write the results in {Path.GetFullPath(outDir)} ({e.Message.ReplaceLineEndings(" ")})", e);
        }
        ansi.Write(DemoReport.Table(result));
        await console.Out.WriteLineAsync(DemoReport.Summary(result)).ConfigureAwait(false);
        if (!settings.Quiet)
            await console.Out.WriteLineAsync($"wrote {jsonPath} and {pngPath}").ConfigureAwait(false);
    }

    /// <summary>Spectre output on the command's console, plain when it is not a terminal.</summary>
    internal static IAnsiConsole Ansi(CliConsole console) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = console.IsInteractive ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = console.IsInteractive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        Interactive = console.IsInteractive ? InteractionSupport.Yes : InteractionSupport.No,
        Out = new AnsiConsoleOutput(console.Out),
    });

    /// <summary>
    /// With governance on, the run has an in-process bus with a <see cref="MetaSupervisor"/> and a
    /// <see cref="MetaLearningAgent"/> on it: the loop publishes each domain's policy pack and each round's
    /// processing metrics, follows the supervisor's knobs and the agent's rollbacks, and its outer step size is
    /// the agent's optimizer's beta (DESIGN §8: it starts at --beta and grows while the outer step has latency
    /// headroom). Without governance the step size stays at --beta.
    /// </summary>
    private static async Task<SineDemoResult> RunDemoAsync(
        SineDemoOptions options, IOuterStep outerStep, DemoSettings settings, Action<SineDemoProgress> progress, CancellationToken token)
    {
        var loopOptions = new MetaTrainingOptions { Beta = settings.Beta };
        if (!settings.Governance)
            return await SineDemo.RunAsync(options, outerStep, loopOptions, progress: progress, cancellationToken: token).ConfigureAwait(false);

        var config = MetaLearningConfig.Default with
        {
            Optimizer = OptimizerConfig.Default with { BetaInit = settings.Beta, BetaMax = Math.Max(settings.Beta, OptimizerConfig.Default.BetaMax) },
        };
        // The scheduler's jitter draws from a seeded source so that a seeded run repeats exactly.
        var jitter = new Random(options.Seed + 3);
        var bus = new EventBus();
        await using (bus.ConfigureAwait(false))
        {
            var supervisor = new MetaSupervisor(bus);
            var agent = new MetaLearningAgent(bus, config, schedulerRandom: jitter.NextDouble);
            await using (supervisor.ConfigureAwait(false))
            await using (agent.ConfigureAwait(false))
            {
                supervisor.Start();
                await agent.StartAsync(token).ConfigureAwait(false);
                var result = await SineDemo.RunAsync(options, outerStep, loopOptions, bus, loop => loop.StepSize = () => agent.Optimizer.Beta, progress, token)
                    .ConfigureAwait(false);
                await bus.WaitForIdleAsync(token).ConfigureAwait(false);
                return result with { GovernanceRounds = agent.Rounds };
            }
        }
    }
}
