using System.CommandLine;
using Meta.Gpu.Cli.Bench;
using Meta.Gpu.Compute;
using Spectre.Console;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// `meta-gpu bench`: times the dense workloads on the engine's backends and on the peers (numpy, TorchSharp,
/// PyTorch) on the same data in the same run, with the machine's read bandwidth measured beside them, and writes
/// bench.json, bench.md and bench.png (DESIGN §15) into --out. A progress bar on a terminal, one line per row
/// otherwise. Each peer's result is checked against the engine's on the same batch after the timed calls
/// (<see cref="PeerAgreement"/>): a disagreement is a warning on standard error and, unless --allow-disagreement,
/// exit 1 once the files are written.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var outDir = new Option<string>("--out") { Description = "Folder for bench.json, bench.md and bench.png.", DefaultValueFactory = _ => "." };
        var workloads = new Option<string?>("--workloads") { Description = $"Comma list of workloads (default: all): {string.Join(", ", BenchWorkloads.All)}." };
        var backends = new Option<string?>("--backends") { Description = $"Comma list of backends and peers (default: all): {string.Join(", ", BenchBackends.All)}." };
        var n = new Option<int?>("--n") { CustomParser = InvariantNumber.NullableInt32, Description = $"Domains N for every backend (default: {BenchOptions.StandardN}; ilgpu-cpu {BenchOptions.SmallN})." };
        var d = new Option<int?>("--d") { CustomParser = InvariantNumber.NullableInt32, Description = $"Parameters D for every backend (default: {BenchOptions.StandardD}; ilgpu-cpu {BenchOptions.SmallD})." };
        var repeats = new Option<int?>("--repeats") { CustomParser = InvariantNumber.NullableInt32, Description = "Timed calls per row (default 5; --quick 3)." };
        var warmup = new Option<int?>("--warmup") { CustomParser = InvariantNumber.NullableInt32, Description = "Untimed calls before them (default 1; 0 skips the warm-up of the aggregation rows): at least this many, then, in process, on until 0.5 s has passed; the Python peers run exactly this many." };
        var quick = new Option<bool>("--quick") { Description = $"Smoke run: N={BenchOptions.QuickN}, D={BenchOptions.QuickD}, 3 repeats, a 16 MB bandwidth array, short host workloads." };
        var deviceMb = new Option<int?>("--device-bandwidth-mb") { CustomParser = InvariantNumber.NullableInt32, Description = $"MB of the device read stream measured when cuda or opencl starts, the reference of their rows' share of read (default {DeviceBandwidth.DefaultMegabytes}; the device needs twice this free)." };
        var baseline = new Option<bool>("--baseline-device-kernels") { Description = "Device backends run every column through the combine kernel, not the dense kernels (weighted mean, trimmed mean by sorting networks): the baseline those are measured against." };
        var outliers = new Option<bool>("--outlier-filter") { Description = "Engine rows run the outlier pass with the library's default settings (the default configuration; the standard workload has it off); the peers have none and are skipped." };
        var equalWeights = new Option<bool>("--equal-weights") { Description = "Every domain's confidence 1.0 (the weights of weighting=uniform, under which the weighted median is the median), for engine and peers; the standard workload draws them in [0.3, 1)." };
        var allowDisagreement = new Option<bool>("--allow-disagreement") { Description = "A peer whose result disagrees with the engine's on the same batch (beyond 1e-4 abs + 1e-4 rel, DESIGN §13; checked after the timed calls) is still reported (agrees: false in bench.json, NO in bench.md, a warning on standard error), but the run exits 0 instead of 1." };
        var python = new Option<string?>("--python") { Description = "Python for the numpy and PyTorch peers (default: $META_GPU_PYTHON, python3 on PATH, /usr/bin/python3)." };
        var command = new Command("bench", "Benchmark the backends against numpy, TorchSharp and PyTorch on the same data; write bench.json, bench.md, bench.png.")
        {
            outDir, workloads, backends, n, d, repeats, warmup, quick, deviceMb, python, baseline, outliers, equalWeights, allowDisagreement,
        };
        command.SetAction((result, token) => MetaGpuApp.GuardAsync(console, () =>
        {
            var options = result.GetValue(quick) ? BenchOptions.QuickDefaults : new BenchOptions();
            options = options with
            {
                OutDir = result.GetValue(outDir) ?? ".",
                Workloads = List(result.GetValue(workloads)) ?? options.Workloads,
                Backends = List(result.GetValue(backends)) ?? options.Backends,
                N = result.GetValue(n),
                D = result.GetValue(d),
                Repeats = result.GetValue(repeats) ?? options.Repeats,
                Warmup = result.GetValue(warmup) ?? options.Warmup,
                DeviceBandwidthMegabytes = result.GetValue(deviceMb) ?? options.DeviceBandwidthMegabytes,
                Python = result.GetValue(python),
                BaselineDeviceKernels = result.GetValue(baseline),
                OutlierFilter = result.GetValue(outliers),
                EqualWeights = result.GetValue(equalWeights),
                AllowDisagreement = result.GetValue(allowDisagreement),
            };
            return RunAsync(console, options, token);
        }));
        return command;
    }

    private static IReadOnlyList<string>? List(string? text) =>
        text is null ? null : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToLowerInvariant()).Distinct().ToList();

    private static async Task<int> RunAsync(CliConsole console, BenchOptions options, CancellationToken token)
    {
        // The options first, as demo checks its own: a mistyped one left the --out folder made for nothing.
        var harness = new BenchHarness(options);
        OutputFolder.Prepare(options.OutDir, "--out", "bench.json", "bench.md", "bench.png");
        var total = harness.Plan().Count + harness.PeerRowsWithoutMethod().Count;
        BenchReport report;
        if (console.IsInteractive)
        {
            report = await AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("bench", maxValue: total);
                    var r = await harness.RunAsync(new SpectreProgress(task), token).ConfigureAwait(false);
                    task.Description = "done";
                    return r;
                }).ConfigureAwait(false);
        }
        else
        {
            report = await harness.RunAsync(new PlainProgress(console.Out, total), token).ConfigureAwait(false);
        }
        try
        {
            BenchOutputs.Write(report, options.OutDir);
        }
        catch (IOException e)
        {
            throw new InvalidInputException($"--out: cannot write the results in {Path.GetFullPath(options.OutDir)} ({e.Message.ReplaceLineEndings(" ")})", e);
        }
        await console.Out.WriteLineAsync(BenchOutputs.Markdown(report)).ConfigureAwait(false);
        var folder = Path.GetFullPath(options.OutDir);
        await console.Out.WriteLineAsync($"bench: wrote {Path.Combine(folder, BenchOutputs.JsonFile)}, {BenchOutputs.MarkdownFile} and {BenchOutputs.ChartFile}").ConfigureAwait(false);
        return await ReportAgreementAsync(console, report, options).ConfigureAwait(false);
    }

    /// <summary>A warning per peer row whose result disagrees with the engine's or was not checked; exit 1 when one
    /// disagrees, unless <see cref="BenchOptions.AllowDisagreement"/>.</summary>
    private static async Task<int> ReportAgreementAsync(CliConsole console, BenchReport report, BenchOptions options)
    {
        var disagreeing = 0;
        foreach (var r in report.Results.Where(r => BenchBackends.IsPeer(r.Backend) && r.Skipped is null))
        {
            var what = $"{r.Backend} {r.Workload} ({r.N} x {r.D})";
            if (r.Agrees == false)
            {
                disagreeing++;
                await console.Error.WriteLineAsync($"meta-gpu bench: warning: {what} disagrees with the engine{(r.CheckedAgainst is null ? "" : $" ({r.CheckedAgainst})")}: {r.Agreement}; its ratios compare different results").ConfigureAwait(false);
            }
            else if (r.Agrees is null)
            {
                await console.Error.WriteLineAsync($"meta-gpu bench: warning: {what} was not checked against the engine: {r.Agreement}").ConfigureAwait(false);
            }
        }
        if (disagreeing == 0) return MetaGpuApp.ExitOk;
        if (options.AllowDisagreement)
        {
            await console.Error.WriteLineAsync($"meta-gpu bench: {disagreeing} peer result(s) disagree with the engine's; exit 0 as --allow-disagreement asks").ConfigureAwait(false);
            return MetaGpuApp.ExitOk;
        }
        await console.Error.WriteLineAsync($"meta-gpu bench: {disagreeing} peer result(s) disagree with the engine's: the files are written, the run fails (--allow-disagreement: exit 0)").ConfigureAwait(false);
        return MetaGpuApp.ExitCheckFailed;
    }
}
