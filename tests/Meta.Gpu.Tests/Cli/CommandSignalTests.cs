using System.Diagnostics;
using System.Globalization;
using System.Text;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>README: "130 or 143 when Ctrl-C or SIGTERM stopped the command". A command waiting on standard input
/// (a pipe whose writer is still there: `tail -f log | meta-gpu govern`) stops on the first signal: the read did not
/// see the cancelled token, and the command waited for its next input.</summary>
public sealed class CommandSignalTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    /// <summary>How long a started command must use no CPU to count as waiting, and how long it may take.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1.5);

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(90);

    private static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo(CliRun.DotnetHost())
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(CliRun.Assembly);
        foreach (var a in args) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    /// <summary>
    /// A shell without job control starts a background command (<c>dotnet test &amp;</c> in a script) with SIGINT
    /// ignored, and every process below it inherits that: the runtime then never sees the signal (as the Unix
    /// convention wants: Ctrl-C is for the foreground job), and a SIGINT test could only time out. Skipped there,
    /// naming why; SIGTERM is not ignored so and its tests still run.
    /// </summary>
    private static void SkipWhereSigintIsIgnored()
    {
        if (!OperatingSystem.IsLinux()) return;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        if (line is null) return;
        var ignored = ulong.Parse(line["SigIgn:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        const int sigint = 2;
        if ((ignored & (1UL << (sigint - 1))) != 0)
            Assert.Skip("SIGINT is ignored in this test process (started in the background by a shell without job control), so the command would inherit that; run the tests in the foreground");
    }

    private static async Task SignalAsync(Process process, string signal)
    {
        using var kill = Process.Start("kill", [signal, process.Id.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
    }

    private static async Task<(bool Exited, string Error)> WaitAsync(Process process, Task<string> error)
    {
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            return (true, await error);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (false, await error);
        }
    }

    [Fact]
    public async Task Sigterm_stops_govern_waiting_for_its_next_input_line()
    {
        using var govern = Start("govern");
        var error = govern.StandardError.ReadToEndAsync();
        await govern.StandardInput.WriteLineAsync("""{"accept_rate": 0.24, "stability_avg": 0.78}""");
        await govern.StandardInput.FlushAsync();
        // The first result line: govern is up, its signal handlers in place, and it waits for the next line.
        var first = await govern.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.NotNull(first);

        await SignalAsync(govern, "-TERM");
        var (exited, err) = await WaitAsync(govern, error);

        Assert.True(exited, $"govern still ran {Limit.TotalSeconds} s after SIGTERM (its input pipe still open); stderr: {err}");
        Assert.Equal(143, govern.ExitCode);
        Assert.Contains("stopped by SIGTERM", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_c_stops_aggregate_reading_standard_input_with_130_not_a_json_error()
    {
        SkipWhereSigintIsIgnored();
        using var aggregate = Start("aggregate", "-");
        var error = aggregate.StandardError.ReadToEndAsync();
        var output = aggregate.StandardOutput.ReadToEndAsync();
        await aggregate.StandardInput.WriteAsync("""{"updates": [""");
        await aggregate.StandardInput.FlushAsync();
        await ProcessSettled.WaitAsync(aggregate, Quiet, Settle); // started and reading

        await SignalAsync(aggregate, "-INT");
        var (exited, err) = await WaitAsync(aggregate, error);
        if (!exited)
        {
            // And once the writer went away, the half-read input was reported as malformed JSON (exit 2).
            Assert.Fail($"aggregate still ran {Limit.TotalSeconds} s after SIGINT (its input pipe still open); stderr: {err}");
        }
        Assert.Equal(130, aggregate.ExitCode);
        Assert.Contains("stopped by SIGINT", err, StringComparison.Ordinal);
        _ = await output;
    }

    [Fact]
    public async Task Sigterm_stops_storage_soak_with_143_not_a_report_of_every_save()
    {
        // It checked the token between saves, then reported every save it was asked for and exited 0.
        var dir = Directory.CreateTempSubdirectory("soak-signal-").FullName;
        try
        {
            var root = Path.Combine(dir, "s");
            using var soak = Start("storage-soak", "--root", root, "--count", "1000000", "--d", "16");
            var output = soak.StandardOutput.ReadToEndAsync();
            var error = soak.StandardError.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(root, "global_prior.json")))
            {
                Assert.False(soak.HasExited || clock.Elapsed > TimeSpan.FromSeconds(60), "storage-soak did not start saving");
                await Task.Delay(100);
            }

            await SignalAsync(soak, "-TERM");
            var (exited, err) = await WaitAsync(soak, error);
            var o = await output;

            Assert.True(exited, $"storage-soak still ran {Limit.TotalSeconds} s after SIGTERM");
            Assert.True(soak.ExitCode == 143, $"exit {soak.ExitCode}; out: {o.Trim()}; err: {err.Trim()}");
            Assert.DoesNotContain("1000000 saves", o, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // aggregate read a path with File.ReadAllTextAsync(path, token): a pipe's read does not see the token, so Ctrl-C
    // waited for the writer to finish and then reported the half-read input as malformed JSON (exit 2), as '-' did.
    [Fact]
    public async Task Ctrl_c_stops_aggregate_reading_a_pipe_by_path()
    {
        SkipWhereSigintIsIgnored();
        using var folder = new Meta.Gpu.Tests.Storage.TempFolder();
        var fifo = await MakeFifoAsync(folder);
        using var aggregate = Start("aggregate", fifo);
        var error = aggregate.StandardError.ReadToEndAsync();
        var output = aggregate.StandardOutput.ReadToEndAsync();
        // The writer stays open (a producer still running); opening blocks until aggregate opens its end.
        await using var writer = await Task.Run(() => new FileStream(fifo, FileMode.Open, FileAccess.Write)).WaitAsync(TimeSpan.FromSeconds(60));
        await writer.WriteAsync(Encoding.UTF8.GetBytes("{\"updates\": ["));
        await writer.FlushAsync();
        await ProcessSettled.WaitAsync(aggregate, Quiet, Settle); // started and reading

        await AssertInterruptedAsync(aggregate, error, output);
    }

    // A named pipe whose writer has not opened yet: File.ReadAllTextAsync opens the file synchronously, before it
    // returns a task, so the WaitAsync(token) after it was never reached and Ctrl-C did nothing.
    [Fact]
    public async Task Ctrl_c_stops_aggregate_waiting_for_a_pipe_writer()
    {
        SkipWhereSigintIsIgnored();
        using var folder = new Meta.Gpu.Tests.Storage.TempFolder();
        var fifo = await MakeFifoAsync(folder);
        using var aggregate = Start("aggregate", fifo);
        var error = aggregate.StandardError.ReadToEndAsync();
        var output = aggregate.StandardOutput.ReadToEndAsync();
        await ProcessSettled.WaitAsync(aggregate, Quiet, Settle); // started, blocked opening the pipe

        await AssertInterruptedAsync(aggregate, error, output);
    }

    private static async Task<string> MakeFifoAsync(Meta.Gpu.Tests.Storage.TempFolder folder)
    {
        var fifo = Path.Combine(folder.Path, "input");
        using (var mk = Process.Start("mkfifo", [fifo])!) await mk.WaitForExitAsync();
        return fifo;
    }

    /// <summary>Sends SIGINT and asserts that the command stops within <see cref="Limit"/> with exit 130.</summary>
    private static async Task AssertInterruptedAsync(Process command, Task<string> error, Task<string> output)
    {
        await SignalAsync(command, "-INT");
        var (exited, err) = await WaitAsync(command, error);
        _ = await output;
        Assert.True(exited, $"{command.StartInfo.ArgumentList[1]} still ran {Limit.TotalSeconds} s after SIGINT; stderr: {err.Trim()}");
        Assert.Equal(130, command.ExitCode);
    }
}
