using System.CommandLine;
using System.Text.Json;
using Meta.Gpu.Conformance;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Cli.Commands;

/// <summary>`meta-gpu conformance [PATH...]`: replays reference traces and reports every mismatch.</summary>
internal static class ConformanceCommand
{
    /// <summary>Where the traces the tool ships with live (copied beside the assembly at build time).</summary>
    public static string ShippedTraces => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Reference");

    public static Command Create(CliConsole console)
    {
        var paths = new Argument<string[]>("paths")
        {
            Description = "Trace files or folders (default: the reference traces shipped with the tool).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        PathArgument.RefuseOptions(paths);
        var command = new Command("conformance", "Replay reference traces (DESIGN §14) and compare every step.") { paths };
        command.SetAction((result, token) => MetaGpuApp.GuardAsync(console, () => RunAsync(console, result.GetValue(paths) ?? [], token)));
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, string[] paths, CancellationToken token)
    {
        var files = ConformanceRunner.ExpandPaths(paths.Length > 0 ? paths : [ShippedTraces]);

        int passed = 0, failed = 0, failedFiles = 0, failedWithoutStep = 0, unreadable = 0;
        foreach (var file in files)
        {
            TraceFileResult result;
            try
            {
                // Read as the other commands read a file: over 2 GB a one-line error (the runtime's read threw), over 2^30
                // characters still read (a string of them died with "Out of memory."), a pipe's wait stopped by Ctrl-C.
                var utf8 = await InputFile.ReadAllUtf8Async(file, token).ConfigureAwait(false);
                result = await ConformanceRunner.RunFileAsync(file, utf8, token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidInputException or JsonException)
            {
                // A trace that cannot be replayed (malformed JSON, a step that is no object, a bad setting) is a user
                // error, said on one line naming the file as before; it stopped the run there, and the files after it
                // were never replayed and no summary was written. It fails, and the run goes on.
                unreadable++;
                failedFiles++;
                failedWithoutStep++;
                var message = e is JsonException j ? $"{file}: {JsonInput.Describe(j)}" : e.Message;
                await console.Error.WriteLineAsync($"meta-gpu: {message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
                await console.Out.WriteLineAsync($"{Path.GetFileName(file)}: FAILED").ConfigureAwait(false);
                await console.Out.WriteLineAsync($"  {message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
                continue;
            }
            passed += result.Passed;
            failed += result.Failed;
            // A file with a failed step fails, and so does one with none (no replayer for its component, no steps).
            if (!result.Ok) failedFiles++;
            if (!result.Ok && result.Failed == 0) failedWithoutStep++;
            var name = Path.GetFileName(file);
            var status = result.Ok ? "ok" : "FAILED";
            await console.Out.WriteLineAsync($"{name} ({result.Component}): {result.Passed}/{result.Steps.Count} steps {status}").ConfigureAwait(false);
            if (result.Error is not null)
                await console.Out.WriteLineAsync($"  {name}: {result.Error}").ConfigureAwait(false);
            else
                foreach (var step in result.Steps.Where(s => !s.Passed))
                    foreach (var mismatch in step.Mismatches)
                        await console.Out.WriteLineAsync($"  {name} step {step.Step}: {mismatch}").ConfigureAwait(false);
        }
        // The counts are steps: a file that failed with none to count (no steps) would leave "0 failed" on a failed run.
        var withoutStep = failedWithoutStep switch
        {
            0 => "",
            1 => "; 1 file failed with no step replayed",
            var n => $"; {n} files failed with no step replayed",
        };
        await console.Out.WriteLineAsync($"conformance: {passed} passed, {failed} failed{withoutStep}").ConfigureAwait(false);
        // Malformed input stays a user error (exit 2), now said after every other file has been replayed.
        return unreadable > 0 ? MetaGpuApp.ExitUserError : failedFiles == 0 ? MetaGpuApp.ExitOk : MetaGpuApp.ExitCheckFailed;
    }
}
